"""Run engine jobs off the GUI thread and report through signals.

A `Job` is a plain function `fn(ctx)` that uses core; it runs in a QThread and talks back only
through `JobSignals` (queued across threads), so the GUI thread never waits on it.
"""

from __future__ import annotations

import traceback

from PySide6.QtCore import QObject, QThread, Signal


class JobSignals(QObject):
    progressed = Signal(object)  # core.steps.base.Progress
    logged = Signal(str)
    variantReady = Signal(object)  # app payload: dict(variant=..., memory=...)
    finished = Signal(object)
    failed = Signal(str, str)  # user message, traceback for the log


class _Runner(QObject):
    def __init__(self, fn, ctx, signals):
        super().__init__()
        self._fn, self._ctx, self._signals = fn, ctx, signals

    def run(self):
        from core.errors import TinyOptError

        try:
            result = self._fn(self._ctx)
        except TinyOptError as exc:
            self._signals.failed.emit(str(exc), "")
        except Exception as exc:  # a bug or an unexpected library error: keep the app alive
            self._signals.failed.emit(f"Unexpected error: {type(exc).__name__}: {exc}", traceback.format_exc())
        else:
            self._signals.finished.emit(result)


class Job(QObject):
    """One background job. `start(fn)` runs fn(ctx) where ctx is a core Context wired to signals."""

    def __init__(self, parent=None, seed: int = 0):
        super().__init__(parent)
        from core.steps.base import CancelToken, Context  # Qt-free and TF-free: cheap

        self.signals = JobSignals()
        self.cancel_token = CancelToken()
        self.ctx = Context(seed=seed, progress=self.signals.progressed.emit, log=self.signals.logged.emit,
                           cancel=self.cancel_token)
        self._thread = QThread()
        self._runner = None

    def start(self, fn) -> None:
        self._runner = _Runner(fn, self.ctx, self.signals)
        self._runner.moveToThread(self._thread)
        self._thread.started.connect(self._runner.run)
        self.signals.finished.connect(self._thread.quit)
        self.signals.failed.connect(self._thread.quit)
        self._thread.start()

    def cancel(self) -> None:
        self.cancel_token.cancel()

    def isRunning(self) -> bool:
        return self._thread.isRunning()

    def wait(self, ms: int = 30_000) -> bool:
        return self._thread.wait(ms)
