"""llama-tui benchmark suite: `bench/run` (or `python -m bench [names...]`). See bench/README.md."""
