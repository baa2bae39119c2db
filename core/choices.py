"""The fixed choices every face offers, listed once: the built-in datasets, the tasks, the
post-training quantization modes. Imports nothing, so the window can read them at start."""

# Built-in datasets, in the order pickers list them (core/data/builtin.py loads them).
DATASETS = ("mnist-5k", "digits", "mnist", "fashion-mnist")
DEFAULT_DATASET = "mnist-5k"

# What a model is for (core/measure/tasks.py scores each).
TASKS = ("classification", "anomaly", "regression")

# Post-training quantization modes -> title, as TensorFlow Lite's documentation names them.
PTQ_MODES = {
    "float32": "float32 (no quantization)",
    "dynamic": "dynamic range quantization",
    "float16": "float16 quantization",
    "full-int": "full integer quantization with float fallback",
    "int8": "integer only (int8 input and output)",
    "16x8": "16x8 quantization (int16 activations, int8 weights)",
}
CALIBRATED = ("full-int", "int8", "16x8")  # modes that calibrate on representative data
