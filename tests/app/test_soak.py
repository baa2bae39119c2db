"""A long session in the real window (offscreen, its own process): 50 model loads and 10 runs, half
of them cancelled mid-training, then a clean exit. PySide6 6.12.0 killed this process in the 7th
run or at exit (rc 134); a longer soak is bench/soak_window.py."""

import json
import subprocess
import sys

from tests.conftest import ROOT, SHARED_MODELS


def test_long_session_then_clean_exit():
    if not SHARED_MODELS.exists():
        import pytest

        pytest.skip("../shared/models is not beside the checkout")
    proc = subprocess.run([sys.executable, "-m", "tests.app.soak", "--loads", "50", "--runs", "10",
                           "--models", str(SHARED_MODELS)], cwd=ROOT, capture_output=True, text=True,
                          timeout=900)
    assert "Fatal Python error" not in proc.stderr, proc.stderr[-3000:]
    assert proc.returncode == 0, proc.stderr[-3000:]
    counts = json.loads([ln for ln in proc.stdout.splitlines() if ln.startswith("{")][-1])
    assert counts["loads"] == 50 and counts["errors_shown"] == 5  # every 10th file is broken
    assert counts["runs"] == 10 and counts["cancelled"] == 5 and counts["done"] == 5, counts
    assert counts["other"] == 0 and not counts["tensorflow_in_window"]
