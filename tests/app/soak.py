"""Drive the real window through a long session, then exit as a user would.

``python -m tests.app.soak --loads 50 --runs 10 [--models DIR]`` opens MainWindow offscreen, opens
models (good ones and a broken one) LOADS times, runs RUNS sequences (every other one cancelled
mid-training), closes the window and exits with the application's own exit code. It prints one
JSON line of counts and timings. Used by tests/app/test_soak.py and bench/soak_window.py.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TINYOPT_NO_WEBENGINE", "1")


def _tiny_h5(folder: Path) -> Path:
    from core.tf_env import keras

    k = keras()
    model = k.Sequential([k.layers.InputLayer((28, 28)), k.layers.Flatten(), k.layers.Dense(10)])
    path = folder / "tiny.h5"
    model.save(str(path))
    return path


def session(window, models: list[Path], broken: Path, loads: int, runs: int, counts: dict):
    """A generator of wait conditions: the driver resumes it when the condition holds."""
    idle = lambda: not window.busy  # noqa: E731
    for i in range(loads):
        path = broken if i % 10 == 9 else models[i % len(models)]
        t = time.perf_counter()
        window.openModel(str(path))
        yield idle
        counts["load_seconds"].append(round(time.perf_counter() - t, 2))
        if window.error_box is not None and window.error_box.isVisible():
            window.error_box.done(0)
            counts["errors_shown"] += 1
        counts["loads"] += 1
    window.openModel(str(models[-1]))  # the Keras model: runs need one
    yield idle
    for r in range(runs):
        cancel = r % 2 == 0
        steps = ([{"name": "prune", "params": {"epochs": 50}}] if cancel else []) + \
            [{"name": "quantize", "params": {"modes": ["int8"]}}]
        window.panel.sequence.setRecipeSteps(steps)
        window.panel.run_button.click()
        if cancel:
            yield lambda: "prune" in window.panel.status.text() or not window.busy
            window.panel.cancel_button.click()
        yield idle
        status = window.panel.status.text()
        counts["cancelled" if status.startswith("Cancelled") else "done" if status.startswith("Done")
               else "other"] += 1
        counts["runs"] += 1
        counts["rows"] = max(counts["rows"], window.results.rowCount())


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--loads", type=int, default=50)
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--models", default=str(Path(__file__).resolve().parents[3] / "shared" / "models"))
    args = p.parse_args(argv)
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from app.main_window import MainWindow

    tmp = Path(tempfile.mkdtemp(prefix="tinyopt-soak-"))
    broken = tmp / "broken.tflite"
    broken.write_bytes(b"TFL3" * 40)
    app = QApplication(sys.argv[:1])
    window = MainWindow(QSettings(str(tmp / "settings.ini"), QSettings.IniFormat))
    app.aboutToQuit.connect(window.shutdown)
    window.show()
    shared = sorted(Path(args.models).glob("*.tflite"))
    started = time.perf_counter()
    counts = {"loads": 0, "errors_shown": 0, "runs": 0, "done": 0, "cancelled": 0, "other": 0, "rows": 0,
              "load_seconds": []}
    # The Keras model is made in the engine process, so TensorFlow never enters this one.
    window._start(_make_tiny_job, lambda path: shared.append(Path(path)), "making a tiny model", str(tmp))
    steps = None
    timer = QTimer()

    def tick():
        nonlocal steps
        if steps is None:
            if window.busy:
                return
            steps = session(window, shared, broken, args.loads, args.runs, counts)
            wait = next(steps)
            tick.wait = wait
        if tick.wait():
            try:
                tick.wait = next(steps)
            except StopIteration:
                timer.stop()
                counts["seconds"] = round(time.perf_counter() - started, 1)
                counts["tensorflow_in_window"] = "tensorflow" in sys.modules
                print(json.dumps(counts), flush=True)
                window.close()
                app.quit()

    tick.wait = lambda: True
    timer.timeout.connect(tick)
    timer.start(20)
    code = app.exec()
    window.shutdown()
    return code


def _make_tiny_job(ctx, emit, engine, folder):
    return str(_tiny_h5(Path(folder)))


if __name__ == "__main__":
    sys.exit(main())
