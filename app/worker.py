"""Run engine jobs in a child process and report through Qt signals.

A job is a top-level function `fn(ctx, emit, *args)` from app/jobs.py. It runs in a spawned process
(app/engine_process.py); a QThread here only waits on the queue and turns events into signals, so
the GUI thread never waits and never competes with TensorFlow for Python's GIL.
"""

from __future__ import annotations

import multiprocessing as mp
import queue as queue_module

from PySide6.QtCore import QObject, QThread, Signal

from app.engine_process import child_main


class JobSignals(QObject):
    progressed = Signal(object)  # core.steps.base.Progress
    logged = Signal(str)
    variantReady = Signal(object)  # app.jobs.VariantPayload
    finished = Signal(object)
    failed = Signal(str, str, object)  # user message, traceback for the log, the TinyOptError or None


class _Forwarder(QObject):
    def __init__(self, events, process, signals):
        super().__init__()
        self._events, self._process, self._signals = events, process, signals

    def run(self):
        while True:
            try:
                event = self._events.get(timeout=0.2)
            except queue_module.Empty:
                if not self._process.is_alive():
                    code = self._process.exitcode
                    self._signals.failed.emit(f"The engine process stopped unexpectedly (exit code {code}). "
                                              "The model may use an op that crashes TensorFlow.", "", None)
                    return
                continue
            kind = event[0]
            if kind == "progress":
                self._signals.progressed.emit(event[1])
            elif kind == "log":
                self._signals.logged.emit(event[1])
            elif kind == "variant":
                self._signals.variantReady.emit(event[1])
            elif kind == "finished":
                self._signals.finished.emit(event[1])
                return
            elif kind == "failed":
                self._signals.failed.emit(event[1], event[2], event[3])
                return


class Job(QObject):
    """One background job in its own process."""

    def __init__(self, parent=None, seed: int = 0):
        super().__init__(parent)
        self.signals = JobSignals()
        self._mp = mp.get_context("spawn")  # forking a process that runs Qt is unsafe
        self._events = self._mp.Queue()
        self._cancel = self._mp.Event()
        self._seed = seed
        self._thread = QThread()
        self._process = None
        self._forwarder = None

    def start(self, fn, *args) -> None:
        self._process = self._mp.Process(target=child_main, args=(fn, args, self._events, self._cancel, self._seed),
                                         daemon=True)
        self._process.start()
        self._forwarder = _Forwarder(self._events, self._process, self.signals)
        self._forwarder.moveToThread(self._thread)
        self._thread.started.connect(self._forwarder.run)
        self.signals.finished.connect(self._thread.quit)
        self.signals.failed.connect(self._thread.quit)
        self._thread.start()

    def cancel(self) -> None:
        self._cancel.set()

    def isRunning(self) -> bool:
        return self._thread.isRunning()

    def wait(self, ms: int = 30_000) -> bool:
        done = self._thread.wait(ms)
        if self._process is not None:
            self._process.join(5)
            if self._process.is_alive():
                self._process.kill()
        return done
