"""Command line: one module per command group, each registering itself on ``app.app``."""
