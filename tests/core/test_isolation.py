"""Children die with their parent; temporary folders of dead processes are cleaned at start."""

import os
import signal
import subprocess
import sys
import time

from core.probes.isolation import clean_stale, temp_dir
from tests.conftest import ROOT

PARENT = """
import subprocess, sys, time
from core.probes.isolation import child_env
child = subprocess.Popen([sys.executable, "-c",
    "from core.probes.isolation import die_with_parent; die_with_parent(); import time; time.sleep(120)"],
    env=child_env())
print(child.pid, flush=True)
time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie has exited; only its parent (init, here) has not reaped it yet
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


def test_child_is_killed_with_its_parent():
    parent = subprocess.Popen([sys.executable, "-c", PARENT], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                              env=dict(os.environ, PYTHONPATH=str(ROOT)))
    child = int(parent.stdout.readline())
    time.sleep(0.5)  # let the child reach prctl
    assert _alive(child)
    parent.send_signal(signal.SIGKILL)
    parent.wait(10)
    deadline = time.time() + 5
    while _alive(child) and time.time() < deadline:
        time.sleep(0.05)
    assert not _alive(child), "the probe child outlived its killed parent"


def test_stale_temp_folders_are_removed_and_live_ones_kept(tmp_path):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        stale = tmp_path / f"tinyopt-tflm-{dead.pid}-abc"
        live = tmp_path / f"tinyopt-netron-{sleeper.pid}-def"
        other = tmp_path / "tinyopt-notes"
        for d in (stale, live, other):
            d.mkdir()
            (d / "model.tflite").write_bytes(b"x")
        assert clean_stale(str(tmp_path)) == [str(stale)]
        assert not stale.exists() and live.exists() and other.exists()
    finally:
        sleeper.kill()


def test_temp_dir_names_its_owner():
    with temp_dir("tflm") as path:
        assert os.path.basename(path).startswith(f"tinyopt-tflm-{os.getpid()}-")
