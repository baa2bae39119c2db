"""Soak the real window for a long session (offscreen): many loads and runs, then a clean exit.

    python bench/soak_window.py [LOADS] [RUNS]     (default 300 loads, 40 runs)

Writes bench/results/soak_window.md: the counts, the exit code, median and worst load time.
"""

import json
import statistics
import subprocess
import sys
from pathlib import Path

from _table import machine, markdown, write

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    loads = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    proc = subprocess.run([sys.executable, "-m", "tests.app.soak", "--loads", str(loads), "--runs", str(runs),
                           "--models", str(ROOT.parent / "shared" / "models")], cwd=ROOT,
                          capture_output=True, text=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    c = json.loads(lines[-1]) if lines else {}
    times = c.pop("load_seconds", []) or [0]
    fatal = "Fatal Python error" in proc.stderr
    table = markdown(["loads", "runs (done / cancelled)", "errors shown", "exit code", "fatal error",
                      "session s", "load median s", "load worst s"],
                     [[c.get("loads"), f"{c.get('runs')} ({c.get('done')} / {c.get('cancelled')})",
                       c.get("errors_shown"), proc.returncode, "yes" if fatal else "no", c.get("seconds"),
                       f"{statistics.median(times):.2f}", f"{max(times):.2f}"]])
    write("soak_window.md", f"# Window soak ({machine()})\n\nOne session of the real window (offscreen): "
          "every 10th load is a broken file (dialog shown and dismissed), every other run is cancelled "
          f"mid-training; then the window closes.\n\n{table}\n")
    if fatal or proc.returncode:
        print(proc.stderr[-3000:])
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
