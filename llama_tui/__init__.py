"""llama-tui: a terminal chat client for llama.cpp's llama-server."""

__version__ = "0.1.0"
