"""Run engine jobs in the engine process and report through Qt signals.

A job is a top-level function `fn(ctx, emit, *args)` from app/jobs.py. `Engine` owns one spawned
process (app/engine_process.py) for the window's lifetime; each `Job` sends one request and a
QThread waits on the event queue and turns its events into signals, so the GUI thread never waits
and never competes with TensorFlow for Python's GIL.
"""

from __future__ import annotations

import itertools
import multiprocessing as mp
import queue as queue_module

from PySide6.QtCore import QObject, Qt, QThread, Signal

from app.engine_process import engine_main


class JobSignals(QObject):
    progressed = Signal(object)  # core.steps.base.Progress
    logged = Signal(str)
    variantReady = Signal(object)  # app.jobs.VariantPayload
    finished = Signal(object)
    failed = Signal(str, str, object)  # user message, traceback for the log, the TinyOptError or None


class Engine:
    """The engine process, started on first use and again after a crash."""

    def __init__(self, seed: int = 0):
        self._mp = mp.get_context("spawn")  # forking a process that runs Qt is unsafe
        self._seed = seed
        self._ids = itertools.count(1)
        self.process = None
        self.requests = self.events = self.cancelled = None

    def submit(self, fn, args) -> int:
        if self.process is None or not self.process.is_alive():
            self._start()
        job_id = next(self._ids)
        self.requests.put((job_id, fn, args))
        return job_id

    def _start(self) -> None:
        self.requests, self.events = self._mp.Queue(), self._mp.Queue()
        self.cancelled = self._mp.Value("q", 0, lock=False)
        self.process = self._mp.Process(target=engine_main, daemon=True, name="tinyopt-engine",
                                        args=(self.requests, self.events, self.cancelled, self._seed))
        self.process.start()

    def cancel(self, job_id: int) -> None:
        if self.cancelled is not None:
            self.cancelled.value = job_id

    def stop(self, timeout: float = 10) -> None:
        """Ask the process to finish after its current job; kill it if it does not."""
        if self.process is None:
            return
        if self.process.is_alive():
            self.requests.put(None)
            self.process.join(timeout)
            if self.process.is_alive():
                self.process.kill()
                self.process.join(5)
        for q in (self.requests, self.events):
            q.close()
            q.cancel_join_thread()
        self.process = None


class _Forwarder(QObject):
    def __init__(self, engine, job_id, signals):
        super().__init__()
        self._engine, self._id, self._signals = engine, job_id, signals

    def run(self):
        events, process = self._engine.events, self._engine.process
        while True:
            try:
                event = events.get(timeout=0.2)
            except queue_module.Empty:
                if not process.is_alive():
                    code = process.exitcode
                    self._signals.failed.emit(f"The engine process stopped unexpectedly (exit code {code}). "
                                              "The model may use an op that crashes TensorFlow.", "", None)
                    return
                continue
            except (EOFError, OSError, ValueError):  # the engine was stopped under us
                self._signals.failed.emit("The engine was stopped.", "", None)
                return
            job_id, kind, *rest = event
            if job_id != self._id:
                continue  # a late event of an earlier job
            if kind == "progress":
                self._signals.progressed.emit(rest[0])
            elif kind == "log":
                self._signals.logged.emit(rest[0])
            elif kind == "variant":
                self._signals.variantReady.emit(rest[0])
            elif kind == "finished":
                self._signals.finished.emit(rest[0])
                return
            elif kind == "failed":
                self._signals.failed.emit(*rest)
                return


class Job(QObject):
    """One background job in the engine process."""

    def __init__(self, engine: Engine, parent=None):
        super().__init__(parent)
        self.signals = JobSignals()
        self._engine = engine
        self._thread = QThread()
        self._forwarder = None
        self.job_id = None

    def start(self, fn, *args) -> None:
        self.job_id = self._engine.submit(fn, args)
        self._forwarder = _Forwarder(self._engine, self.job_id, self.signals)
        self._forwarder.moveToThread(self._thread)
        self._thread.started.connect(self._forwarder.run)
        # Direct: quit() runs in the forwarder's own thread as it reports the end. Queued, it would
        # wait for the GUI thread, which may itself be waiting on this thread (shutdown while a job
        # runs): the wait timed out and Qt aborted on a QThread destroyed while running.
        self.signals.finished.connect(self._thread.quit, Qt.DirectConnection)
        self.signals.failed.connect(self._thread.quit, Qt.DirectConnection)
        self._thread.start()

    def cancel(self) -> None:
        if self.job_id is not None:
            self._engine.cancel(self.job_id)

    @property
    def threadFinished(self):
        """QThread.finished of this job's thread."""
        return self._thread.finished

    def isRunning(self) -> bool:
        return self._thread.isRunning()

    def wait(self, ms: int = 30_000) -> bool:
        return self._thread.wait(ms)
