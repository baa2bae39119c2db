"""How the window names the settings that engine messages point to (core.errors.FLAGS is the
command line's wording): a message shown here names a control, never a flag."""

WINDOW_NAMES = {
    "data": "the Dataset picker (an image folder, arrays or a CSV)",
    "no_data": "Dataset › No data",
    "calibration_synthetic": "Calibration › synthetic inputs",
    "task_regression": "Task › regression",
    "label_column": "the label column the window asks for when you choose the CSV (Dataset › CSV…)",
    "trust_model_code": "choose “Trust and load” when the window asks",
    "tflm_tree": "File › TFLM source tree…",
    "device_budget": "Device › Custom…",
    "resume": "Resume in the Explore tab",
}
