"""The TUI tests use the `make_app` fixture of tests/conftest.py and the helpers in tests/harness/app.py."""
