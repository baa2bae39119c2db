"""The model graph: Netron, served on 127.0.0.1, embedded in a QWebEngineView (original | variant).

Netron's page asks for consent and, when its version tag is not 0.0.0, starts telemetry to outside
hosts; it also refuses to start when its build date is over 180 days old. The view therefore uses an
off-the-record profile, a script injected at document creation that sets the `consent` cookie and
rewrites the page's version tag to 0.0.0 and its date to today, and a request interceptor that
blocks every host but 127.0.0.1/localhost. Without QtWebEngine, "Open in browser" remains.

TensorFlow never enters the window's process (jobs run in a child, app/worker.py): Chromium's
libraries and TensorFlow's clash in one process. Pages are deleted before their profile on
shutdown, as QtWebEngine requires.
"""

from __future__ import annotations

import os
import webbrowser

from PySide6.QtCore import QUrl
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSplitter, QVBoxLayout, QWidget

from app.netron_server import NetronServer

LOCAL_HOSTS = {"127.0.0.1", "localhost"}

# Runs before Netron's own scripts: they read the <meta> tags while starting up.
DEFUSE_JS = """
document.cookie = 'consent=' + Date.now() + ';path=/;max-age=31536000';
(function () {
  const today = new Date().toISOString().slice(0, 19).replace('T', ' ');
  const fix = (m) => {
    if (m.name === 'version') m.content = '0.0.0';
    if (m.name === 'date') m.content = today;
  };
  new MutationObserver((records) => {
    for (const r of records) for (const n of r.addedNodes) if (n.tagName === 'META') fix(n);
  }).observe(document, {childList: true, subtree: true});
})();
"""

try:
    if os.environ.get("TINYOPT_NO_WEBENGINE"):  # opt out (e.g. broken GPU drivers): browser only
        raise ImportError("disabled by TINYOPT_NO_WEBENGINE")
    from PySide6.QtWebEngineCore import (QWebEnginePage, QWebEngineProfile, QWebEngineScript,
                                         QWebEngineUrlRequestInterceptor)
    from PySide6.QtWebEngineWidgets import QWebEngineView

    HAVE_WEBENGINE = True
    WEBENGINE_MISSING = ""
except ImportError as exc:  # the Essentials wheel, or a system without the WebEngine libraries
    HAVE_WEBENGINE = False
    WEBENGINE_MISSING = str(exc)


if HAVE_WEBENGINE:
    class LocalOnlyInterceptor(QWebEngineUrlRequestInterceptor):
        """Blocks every request that does not go to this machine."""

        def __init__(self, parent=None):
            super().__init__(parent)
            self.blocked = []

        def interceptRequest(self, info):
            url = info.requestUrl()
            if url.scheme() in ("http", "https", "ws", "wss") and url.host() not in LOCAL_HOSTS:
                self.blocked.append(url.toString())
                info.block(True)

    def make_profile(parent):
        profile = QWebEngineProfile(parent)  # no storage name: off the record
        interceptor = LocalOnlyInterceptor(profile)
        profile.setUrlRequestInterceptor(interceptor)
        script = QWebEngineScript()
        script.setName("tinyopt-netron-defuse")
        script.setSourceCode(DEFUSE_JS)
        script.setInjectionPoint(QWebEngineScript.DocumentCreation)
        script.setWorldId(QWebEngineScript.MainWorld)
        script.setRunsOnSubFrames(True)
        profile.scripts().insert(script)
        return profile, interceptor


def unavailable_note() -> str:
    from app.qt_platform import install_hint, webengine_missing

    missing = [] if os.environ.get("TINYOPT_NO_WEBENGINE") else webengine_missing()
    if missing:
        return (f"The embedded graph needs QtWebEngine, which lacks {', '.join(missing)} here. Install: "
                f"{install_hint(missing)}; until then, use “Open in browser”.")
    return f"The embedded graph needs QtWebEngine, which is not available here ({WEBENGINE_MISSING}): use “Open in browser”."


class _Pane(QWidget):
    def __init__(self, title: str, parent=None):
        super().__init__(parent)
        self.server = NetronServer()
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        self.label = QLabel(title)
        self.browser_button = QPushButton("Open in browser")
        self.browser_button.setEnabled(False)
        self.browser_button.clicked.connect(lambda: self.server.url and webbrowser.open(self.server.url))
        top.addWidget(self.label, 1)
        top.addWidget(self.browser_button)
        self._layout.addLayout(top)
        self.view = None
        self.note = QLabel("The graph appears here once a model is loaded." if HAVE_WEBENGINE else
                           unavailable_note())
        self.note.setWordWrap(True)
        self._layout.addWidget(self.note, 1)

    def ensure_view(self, profile) -> None:
        if self.view is None and profile is not None:
            self.view = QWebEngineView(self)
            self.view.setPage(QWebEnginePage(profile, self.view))
            self.note.hide()
            self._layout.addWidget(self.view, 1)

    def show_model(self, data: bytes, filename: str, title: str, profile) -> None:
        url = self.server.serve(data, filename)
        self.label.setText(f"{title} — {url}")
        self.browser_button.setEnabled(True)
        self.ensure_view(profile)
        if self.view is not None:
            self.view.setUrl(QUrl(url))

    def stop(self) -> None:
        self.server.stop()
        if self.view is not None:
            import shiboken6

            page = self.view.page()
            shiboken6.delete(page)
            shiboken6.delete(self.view)
            self.view = None


class GraphWidget(QWidget):
    """Original and selected variant side by side, each served by its own local Netron."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.profile = self.interceptor = None
        layout = QVBoxLayout(self)
        split = QSplitter()
        self.original = _Pane("original")
        self.variant = _Pane("selected variant")
        split.addWidget(self.original)
        split.addWidget(self.variant)
        layout.addWidget(split)

    def _profile(self):
        if HAVE_WEBENGINE and self.profile is None:
            self.profile, self.interceptor = make_profile(None)
        return self.profile

    def showOriginal(self, data: bytes, filename: str, title: str = "original") -> None:
        self.original.show_model(data, filename, title, self._profile())

    def showVariant(self, data: bytes, filename: str, title: str) -> None:
        self.variant.show_model(data, filename, title, self._profile())

    def stop(self) -> None:
        self.original.stop()
        self.variant.stop()
        if self.profile is not None:
            import shiboken6

            shiboken6.delete(self.profile)  # after its pages
            self.profile = self.interceptor = None

    def closeEvent(self, event):
        self.stop()
        super().closeEvent(event)
