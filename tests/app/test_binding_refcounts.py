"""The Qt binding must not leak or over-release references to None, True and False.

PySide6 6.12.0 on Python 3.11 dropped one reference to None/True/False per Qt call that returned
them: the window died mid-session ("Fatal Python error: bool_dealloc"). pyproject.toml pins a
release without the bug; this test stops an upgrade from bringing it back silently.
"""

import sys

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLabel

CALLS = 1000


class _Emitter(QObject):
    fired = Signal(object)
    flag = Signal(bool)


def _counts():
    return sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False)


def test_set_text_keeps_reference_counts(qapp):
    label = QLabel()
    before = _counts()
    for i in range(CALLS):
        label.setText(str(i))
        label.isVisible()
    after = _counts()
    assert [a - b for a, b in zip(after, before)] == [0, 0, 0], \
        f"None/True/False reference counts moved by {[a - b for a, b in zip(after, before)]}"


def test_signal_emits_keep_reference_counts(qapp):
    emitter = _Emitter()
    seen = []
    emitter.fired.connect(seen.append)
    emitter.flag.connect(seen.append)
    before = _counts()
    for i in range(CALLS):
        emitter.fired.emit(i)
        emitter.flag.emit(i % 2 == 0)
    seen.clear()
    after = _counts()
    assert [a - b for a, b in zip(after, before)] == [0, 0, 0], \
        f"None/True/False reference counts moved by {[a - b for a, b in zip(after, before)]}"
