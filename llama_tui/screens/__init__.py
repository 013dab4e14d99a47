"""Screens and modal dialogs of the llama-tui app (one per module)."""
