"""GUI responsiveness: time from launch to the window shown, and the largest lateness of a 10 ms
QTimer while a real sequence trains in the background (the event loop must never stall > 100 ms).

Run: .venv/bin/python bench/gui_responsiveness.py   (offscreen; needs no display)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._table import machine, markdown, write  # noqa: E402

LAUNCH = r"""
import time; t0 = time.perf_counter()
import sys, os
os.environ["TINYOPT_NO_WEBENGINE"] = "1"
from PySide6.QtWidgets import QApplication
from app.main_window import MainWindow
app = QApplication([]); w = MainWindow(); w.show(); app.processEvents()
print(f"{time.perf_counter() - t0:.3f}", 'tensorflow' in sys.modules)
"""

LATENESS = r"""
import os, sys, time
os.environ["TINYOPT_NO_WEBENGINE"] = "1"
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from app.main_window import MainWindow
sys.setswitchinterval(0.001)  # as app/main.py does
app = QApplication([]); w = MainWindow(); w.show()
late, last, phase = [0.0], [time.perf_counter()], ["load"]
def tick():
    now = time.perf_counter(); late[0] = max(late[0], now - last[0] - 0.010); last[0] = now
timer = QTimer(); timer.setInterval(10); timer.timeout.connect(tick); timer.start()
w.loadReference()
t0 = [0.0]
def watch():
    if phase[0] == "load" and w.loaded is not None and not w.busy:
        w.panel.sequence.setRecipeSteps([{"name": "prune", "params": {"epochs": 2}},
                                   {"name": "quantize", "params": {"modes": ["int8"]}}])
        late[0] = 0.0; t0[0] = time.perf_counter(); w._on_run_clicked(); phase[0] = "run"
    elif phase[0] == "run" and not w.busy:
        print(f"{late[0] * 1000:.1f} {time.perf_counter() - t0[0]:.1f} {w.results.rowCount()}")
        sys.stdout.flush(); w.shutdown(); os._exit(0)
    QTimer.singleShot(100, watch)
QTimer.singleShot(100, watch)
app.exec()
"""


def main() -> int:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    launches = []
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", LAUNCH], cwd=ROOT, env=env, capture_output=True, text=True,
                             timeout=120).stdout.split()
        launches.append((float(out[0]), out[1]))
    out = subprocess.run([sys.executable, "-c", LATENESS], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=900).stdout.split()
    rows = [["time to window shown (3 launches, s)", ", ".join(f"{t:.2f}" for t, _ in launches), "<= 1.5 s"],
            ["TensorFlow imported before the window showed", launches[0][1], "False"],
            ["largest lateness of a 10 ms QTimer during a run (ms)", out[0], "<= 100 ms"],
            ["run: prune (2 epochs) -> int8 on the reference CNN (s)", out[1], ""],
            ["variants shown", out[2], ""]]
    write("gui_responsiveness.md", f"# GUI responsiveness\n\nMeasured {machine()}, offscreen.\n\n"
          + markdown(["measure", "value", "goal"], rows) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
