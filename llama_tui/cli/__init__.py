"""The command line: one module per command; shared helpers in common.py."""
