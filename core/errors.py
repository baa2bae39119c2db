"""One exception hierarchy whose messages are written for the user.

Every message says what went wrong, with which file, layer or step, and what to do. The GUI shows
`str(error)` in a dialog; the CLI prints it and exits non-zero. Tracebacks go to the log only.
"""


class TinyOptError(Exception):
    """Base of every error the user may see."""


class LoadError(TinyOptError):
    """A model file could not be loaded (missing, corrupt, unsupported, unsafe)."""


class UnsafeModelError(LoadError):
    """Loading the model would execute code stored in the file (e.g. a Lambda layer)."""

    def __init__(self, message: str, path: str = "", layers=()):
        super().__init__(message)
        self.path, self.layers = path, list(layers)

    def __reduce__(self):  # crosses from the engine process to the window intact
        return type(self), (str(self), self.path, self.layers)


class DataError(TinyOptError):
    """A dataset could not be loaded or does not fit the model."""


class SequenceError(TinyOptError):
    """An optimization sequence or recipe is invalid; the message names the fix."""


class ConversionError(TinyOptError):
    """A conversion or optimization step failed or produced something other than what was asked."""


class ExportError(TinyOptError):
    """A package could not be written."""


class SearchError(TinyOptError):
    """A search cannot start or go on: its settings, its storage or its study."""


class Cancelled(TinyOptError):
    """The user cancelled the running work."""
