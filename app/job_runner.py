"""The window's running work: one engine job at a time in the engine process (app/worker.py), its
lifetime (a thread still running when the next job starts is released when it ends, never
deleted: Qt aborts on that), cancel, and progress with the time left in the current step."""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, Signal

from app.worker import Engine, Job


class JobRunner(QObject):
    busyChanged = Signal(bool, str)  # busy, status text
    progressed = Signal(str, object)  # status text, fraction (None: no measure of it)
    logged = Signal(str)
    variantReady = Signal(object)
    failed = Signal(str, str, object)  # message, traceback, the error (TinyOptError or None)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.engine = Engine()  # one process for every job of this window; started on first use
        self.job = None
        self.busy = False
        self.searching = False  # the running job is a search: Cancel stops it after its running trial
        self._retiring = []  # ended jobs whose thread had not stopped yet when the next one started
        self._step_started = {}

    def start(self, fn, on_done, what: str, *args) -> bool:
        """Run `fn` (an app.jobs function) with `args`; `on_done(result)` when it finishes. False
        while another job runs."""
        if self.busy:
            return False
        if self.job is not None:  # its job has ended (we are not busy): release it once its thread has
            old = self.job
            if old.wait(5_000):
                old.deleteLater()
            else:  # deleting a QThread that still runs aborts the process
                self._retiring.append(old)
                old.threadFinished.connect(lambda o=old: (self._retiring.remove(o), o.deleteLater()))
        self.job = Job(self.engine, self)
        self._step_started = {}
        s = self.job.signals
        s.progressed.connect(self._on_progress)
        s.logged.connect(self.logged.emit)
        s.variantReady.connect(self.variantReady.emit)
        s.finished.connect(lambda result: self._done(on_done, result))
        s.failed.connect(self._failed)
        self._set_busy(True, what)
        self.logged.emit(what)
        self.job.start(fn, *args)
        return True

    def cancel(self) -> str:
        """Ask the running job to stop; the status to show meanwhile."""
        if self.job is None:
            return ""
        self.job.cancel()
        return ("Stopping after the running trial; every finished trial is kept…" if self.searching
                else "Cancelling after the current batch…")

    def _set_busy(self, busy: bool, text: str) -> None:
        self.busy = busy
        self.searching = self.searching and busy
        self.busyChanged.emit(busy, text)

    def _done(self, on_done, result) -> None:
        self._set_busy(False, "Ready")
        on_done(result)

    def _failed(self, message, trace, error=None) -> None:
        self._set_busy(False, "Ready")
        self.failed.emit(message, trace, error)

    def _on_progress(self, p) -> None:
        now = time.monotonic()
        started = self._step_started.setdefault(p.step, now)
        eta = ""
        if p.fraction is not None and 0.02 < p.fraction < 1:
            eta = f" — about {(now - started) * (1 - p.fraction) / p.fraction:.0f} s left in this step"
        self.progressed.emit(f"{p.step}: {p.message}{eta}", p.fraction)

    def restartEngine(self) -> None:
        """A new engine for the next job (its environment changed, e.g. the TFLM tree), when idle."""
        if not self.busy:
            self.engine.stop(timeout=2)

    def shutdown(self) -> None:
        if self.job is not None and self.job.isRunning():
            self.job.cancel()  # steps stop between batches; the converter may not: then it is killed
            self.job.wait(5_000)
        self.engine.stop(timeout=2)
        for job in [self.job, *self._retiring]:
            if job is not None:
                job.wait(10_000)  # its forwarder sees the engine gone and ends
