"""Load baseline of the game loop against a local stack (``make bench-load``): see benchmarks/load/__main__.py."""
