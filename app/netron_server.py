"""Serve a model with Netron on 127.0.0.1 (a free port), and stop it again. Qt-free.

Netron's page would ask for consent and start telemetry; the GUI's web view defuses that
(app/qt_graph.py). Each served file is a private temporary copy, so the served model cannot
change under the view.
"""

from __future__ import annotations

import os

from core.probes.isolation import temp_dir


class NetronServer:
    def __init__(self):
        self.address = None
        self._tmp = None

    @property
    def url(self) -> str | None:
        return f"http://{self.address[0]}:{self.address[1]}/" if self.address else None

    def serve(self, data: bytes, filename: str) -> str:
        """Serve `data` under `filename` (its extension tells Netron the format); return the URL."""
        import netron

        self.stop()
        self._tmp = temp_dir("netron")
        path = os.path.join(self._tmp.name, filename)
        with open(path, "wb") as f:
            f.write(data)
        self.address = netron.serve(path, None, address=("127.0.0.1", 0), browse=False)
        return self.url

    def stop(self) -> None:
        if self.address:
            import threading

            import netron

            serving = [t for t in threading.enumerate() if getattr(t, "address", None) == self.address]
            try:
                netron.stop(self.address)
            except Exception:  # already stopped; nothing to release
                pass
            for t in serving:  # the socket is released when its thread leaves select() (<= 0.25 s)
                t.join(2)
            self.address = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
