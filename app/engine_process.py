"""The child process that runs engine jobs for the window. Qt-free.

TensorFlow work in a thread of the GUI process holds Python's GIL for hundreds of milliseconds at a
time (graph tracing, the converter), which freezes the window; it also clashes with QtWebEngine's
libraries. So every job runs in a spawned process: events come back through a queue, cancel goes
in through an Event, and a TensorFlow crash costs the job, not the app.
"""

from __future__ import annotations

import traceback


def child_main(fn, args, queue, cancel_event, seed: int) -> None:
    """Run `fn(ctx, emit, *args)` and put ("progress"|"log"|"variant"|"finished"|"failed", ...)."""
    from core.errors import TinyOptError
    from core.isolation import die_with_parent
    from core.steps.base import CancelToken, Context

    die_with_parent()  # a window that is killed takes its engine with it

    ctx = Context(seed=seed, progress=lambda p: queue.put(("progress", p)),
                  log=lambda line: queue.put(("log", line)), cancel=CancelToken(cancel_event))
    try:
        result = fn(ctx, lambda payload: queue.put(("variant", payload)), *args)
    except TinyOptError as exc:
        queue.put(("failed", str(exc), "", exc))
    except Exception as exc:  # a bug or an unexpected library error: report it, the window lives on
        queue.put(("failed", f"Unexpected error: {type(exc).__name__}: {exc}", traceback.format_exc(), None))
    else:
        queue.put(("finished", result))
