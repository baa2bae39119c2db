"""TinyOpt Studio's desktop GUI (PySide6). It calls `core` and holds no optimization logic."""
