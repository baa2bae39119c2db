"""The engine process that runs the window's jobs. Qt-free.

TensorFlow work in a thread of the GUI process holds Python's GIL for hundreds of milliseconds at a
time (graph tracing, the converter), which freezes the window; it also clashes with QtWebEngine's
libraries. So jobs run in one spawned process that lives as long as the window: TensorFlow is
imported once, not per job. Requests come in on a queue, events go back tagged with the job's id,
and cancel is a shared job id the running job compares with its own. A crash costs the running
job, not the app: the window starts a new engine for the next job.
"""

from __future__ import annotations

import traceback


class JobCancel:
    """The cancel token's event for one job: set when the window names this job as cancelled."""

    def __init__(self, shared, job_id: int):
        self._shared, self._id = shared, job_id

    def is_set(self) -> bool:
        return self._shared.value == self._id

    def set(self) -> None:
        self._shared.value = self._id


class EngineState:
    """What lives in the engine process between jobs: the engine's one `Session` (core/session.py),
    made by the load job and used by every later job (run, preview, export, search)."""

    def __init__(self):
        self.session = None


def engine_main(requests, events, cancelled, seed: int = 0) -> None:
    """Serve (job id, fn, args) requests until None; put (id, kind, ...) events for each job."""
    from core.probes.isolation import die_with_parent

    die_with_parent()  # a window that is killed takes its engine with it
    state = EngineState()
    while True:
        request = requests.get()
        if request is None:
            return
        job_id, fn, args = request
        run_job(job_id, fn, args, events, JobCancel(cancelled, job_id), seed, state)
        _release_memory()


def run_job(job_id, fn, args, events, cancel_event, seed: int, state: EngineState | None = None) -> None:
    """Run `fn(ctx, emit, state, *args)`; report progress, log lines, variants, then finished or failed."""
    from core.errors import Cancelled, TinyOptError
    from core.steps.base import CancelToken, Context

    def put(*event):
        events.put((job_id, *event))

    ctx = Context(seed=seed, progress=lambda p: put("progress", p), log=lambda line: put("log", line),
                  cancel=CancelToken(cancel_event))
    try:
        result = fn(ctx, lambda payload: put("variant", payload), state if state is not None else EngineState(), *args)
    except TinyOptError as exc:
        put("failed", str(exc), "", exc)
    except Cancelled as exc:  # a job that does not keep partial results (a build, an export)
        put("failed", str(exc) or "Cancelled.", "", None)
    except Exception as exc:  # a bug or an unexpected library error: report it, the window lives on
        put("failed", f"Unexpected error: {type(exc).__name__}: {exc}", traceback.format_exc(), None)
    else:
        put("finished", result)


def _release_memory() -> None:
    """Jobs leave Keras graphs and models behind; a long session must not grow without bound."""
    import gc
    import sys

    if "tf_keras" in sys.modules:
        sys.modules["tf_keras"].backend.clear_session()
    gc.collect()
