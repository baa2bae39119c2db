"""The `tinyopt` command, above both layers: it starts the window (app) or a headless command (core)."""
