"""Netron: served on 127.0.0.1 only, stopped on close; the real web view blocks outside hosts."""

import json
import socket
import subprocess
import sys
import urllib.request

import pytest

from tests.conftest import ROOT, shared_model


def _port_open(address) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(address) == 0


def test_netron_serves_on_localhost_and_stops_on_close(qtbot):
    from app.qt_graph import GraphWidget

    w = GraphWidget()
    qtbot.addWidget(w)
    w.showOriginal(shared_model("kws_ref_model.tflite").read_bytes(), "kws.tflite")
    address = w.original.server.address
    assert address[0] == "127.0.0.1"
    assert b"netron" in urllib.request.urlopen(w.original.server.url, timeout=10).read().lower()
    w.close()
    assert w.original.server.address is None and not _port_open(address)


SCRIPT = r"""
import os, sys, time
os.environ.pop("TINYOPT_NO_WEBENGINE", None)
os.environ["QTWEBENGINE_CHROMIUM_FLAGS"] = "--no-sandbox"
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
app = QApplication([])
from app.qt_graph import GraphWidget, HAVE_WEBENGINE
if not HAVE_WEBENGINE:
    print("NO-WEBENGINE"); sys.stdout.flush(); os._exit(0)
w = GraphWidget(); w.resize(1000, 700); w.show()
w.showOriginal(open(sys.argv[1], "rb").read(), "kws.tflite")
page = w.original.view.page()
def probe():
    page.runJavaScript("fetch('https://example.com/ping').catch(() => 0);"
                       "JSON.stringify([document.body.className,"
                       " (document.getElementById('message-text') || {}).innerText || '',"
                       " document.querySelectorAll('svg g').length])",
                       lambda state: print("PAGE", state))
QTimer.singleShot(6000, probe)
def done():
    print("BLOCKED", w.interceptor.blocked)
    w.stop(); sys.stdout.flush(); os._exit(0)
QTimer.singleShot(9000, done)
app.exec()
"""


def test_web_view_shows_the_graph_without_consent_screen_and_blocks_outside_hosts():
    p = subprocess.run([sys.executable, "-c", SCRIPT, str(shared_model("kws_ref_model.tflite"))], cwd=ROOT,
                       capture_output=True, text=True, timeout=180,
                       env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin", "HOME": "/tmp"})
    if "NO-WEBENGINE" in p.stdout:
        pytest.skip("QtWebEngine is not available here")
    line = next((ln for ln in p.stdout.splitlines() if ln.startswith("PAGE ")), None)
    assert line, p.stdout + p.stderr[-2000:]
    body_class, message, groups = json.loads(line[5:])
    # Netron's consent screen is its message bar ("This app uses cookies...") over the page.
    assert "notification" not in body_class and "alert" not in body_class, (body_class, message)
    assert "cookies" not in message and "update" not in message.lower(), message
    assert "welcome" not in body_class and groups > 10  # the model's graph is drawn
    assert "https://example.com/ping" in p.stdout  # the page's outside request was blocked
