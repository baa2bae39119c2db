"""The real application on the real xcb platform (not offscreen), under a virtual X server: its window
is mapped and the process is still alive 10 s later, with a model loaded and the embedded graph
started. This is what a user's `make run` does; it fails where Qt's libraries are missing.

Xvfb comes from `make test` (setup-gui as root); without it the test is skipped, except in CI
(TINYOPT_REQUIRE_DISPLAY=1), where its absence fails the test.
"""

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT, shared_model

TITLE = "TinyOpt Studio"


def _window_state(display: str) -> str:
    """xwininfo's "Map State" of the window titled TITLE (empty when there is none yet)."""
    p = subprocess.run(["xwininfo", "-display", display, "-name", f"{TITLE} — seed_cnn_fashion_int8.tflite"],
                       capture_output=True, text=True, timeout=10)
    if p.returncode != 0:
        p = subprocess.run(["xwininfo", "-display", display, "-name", TITLE], capture_output=True, text=True,
                           timeout=10)
    return next((line.split(":", 1)[1].strip() for line in p.stdout.splitlines() if "Map State" in line), "")


@pytest.fixture
def display():
    if not (shutil.which("Xvfb") and shutil.which("xwininfo")):
        if os.environ.get("TINYOPT_REQUIRE_DISPLAY"):
            pytest.fail("Xvfb or xwininfo is missing: `make test` installs them as root (setup-gui).")
        pytest.skip("Xvfb and xwininfo are not installed (make setup-gui as root)")
    number = 90 + os.getpid() % 100
    server = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 20
    while time.time() < deadline and not os.path.exists(f"/tmp/.X11-unix/X{number}"):
        time.sleep(0.1)
    yield f":{number}"
    server.terminate()
    server.wait(10)


def test_the_window_opens_on_xcb_and_stays_up(display, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "TINYOPT_NO_WEBENGINE")}
    env.update(DISPLAY=display, QT_QPA_PLATFORM="xcb", HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"))
    app = subprocess.Popen([sys.executable, "-m", "tinyopt", str(shared_model("seed_cnn_fashion_int8.tflite"))],
                           cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           start_new_session=True)
    try:
        deadline, state = time.time() + 90, ""
        while time.time() < deadline and app.poll() is None and state != "IsViewable":
            time.sleep(0.5)
            state = _window_state(display)
        assert state == "IsViewable", f"no window mapped (rc {app.poll()}):\n{_output(app)}"
        time.sleep(10)
        assert app.poll() is None, f"the app died after its window was mapped:\n{_output(app)}"
        assert _window_state(display) == "IsViewable"
    finally:
        if app.poll() is None:
            os.killpg(app.pid, signal.SIGTERM)
            try:
                app.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(app.pid, signal.SIGKILL)


def _output(app) -> str:
    if app.poll() is None:
        os.killpg(app.pid, signal.SIGTERM)
    try:
        return app.communicate(timeout=20)[0][-3000:]
    except subprocess.TimeoutExpired:
        return "(no output)"
