"""Textual widgets of llama-tui: each posts its own messages; screens decide what happens."""
