"""Partners: the organisations the accelerator works with, its own among them."""
