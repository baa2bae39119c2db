"""Analysis of .tflite models: reading, lifetimes, planning, MACs (one algorithm per module)."""
