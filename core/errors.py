"""One exception hierarchy whose messages are written for the user.

Every message says what went wrong, with which file, layer or step, and what to do. Where the fix
is a setting, the message names it with `setting(key)`: each face shows it as that face calls it,
the command line as its flag (`str(error)`), the window as its control (`error.render(names)`), so
a window never tells its user to pass `--data`. The CLI prints the message and exits non-zero; the
window shows it in a dialog and stays usable. Tracebacks go to the log only.
"""

import re

# The settings messages may name, as the command line spells them.
FLAGS = {
    "data": "--data (an image folder, arrays or a CSV)",
    "no_data": "--data none",
    "calibration_synthetic": "--calibration synthetic",
    "task_regression": "--task regression",
    "label_column": "--label-column",
    "trust_model_code": "pass --trust-model-code on the command line",
    "tflm_tree": "--tflm-tree DIR",
    "device_budget": "--ram-kb and --flash-kb",
    "resume": "--resume",
}
_MARK = re.compile(r"\[\[setting:(\w+)\]\]")


def setting(key: str) -> str:
    """A setting named in a message, shown by each face in its own words (see FLAGS)."""
    if key not in FLAGS:
        raise KeyError(key)
    return f"[[setting:{key}]]"


def render(text: str, names: dict | None = None) -> str:
    """`text` with each setting named as `names` has it (else as the command line spells it)."""
    return _MARK.sub(lambda m: (names or {}).get(m.group(1), FLAGS[m.group(1)]), text)


class TinyOptError(Exception):
    """Base of every error the user may see."""

    def __str__(self) -> str:
        return render(super().__str__())

    def render(self, names: dict) -> str:
        """The message with the settings named as a face (the window) calls them."""
        return render(super().__str__(), names)


class LoadError(TinyOptError):
    """A model file could not be loaded (missing, corrupt, unsupported, unsafe)."""


class UnsafeModelError(LoadError):
    """Loading the model would execute code stored in the file (e.g. a Lambda layer)."""

    def __init__(self, message: str, path: str = "", layers=()):
        super().__init__(message)
        self.path, self.layers = path, list(layers)

    def __reduce__(self):  # crosses from the engine process to the window intact
        return type(self), (self.args[0] if self.args else "", self.path, self.layers)


class DataError(TinyOptError):
    """A dataset could not be loaded or does not fit the model."""


class SequenceError(TinyOptError):
    """An optimization sequence or recipe is invalid; the message names the fix."""


class ConversionError(TinyOptError):
    """A conversion or optimization step failed or produced something other than what was asked."""


class ExportError(TinyOptError):
    """A package could not be written."""


class TargetError(TinyOptError):
    """A device or Cortex-M target: unknown, its toolchain or TFLM tree missing, a build that fails,
    or a model it does not run."""


class UsageError(TinyOptError):
    """A command's options do not make a command (the command line's own checks)."""


class SearchError(TinyOptError):
    """A search cannot start or go on: its settings, its storage or its study."""


class Cancelled(Exception):
    """The user cancelled the running work. Not a TinyOptError: nothing went wrong, and a handler
    of errors must never swallow a cancel."""
