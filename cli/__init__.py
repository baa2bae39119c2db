"""The command line: `tinyopt run|analyze|export|search|target|presets ...`, a face of the engine beside the window."""
