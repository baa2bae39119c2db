"""The Data tab: a strip of the samples a run evaluates on (images, or a line per 1-D signal) with
their labels, and after a run what the original and the selected variant predict for each, the
variant's answer marked where it disagrees with the original's."""

from __future__ import annotations

from html import escape

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QGridLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from core.measure.preview import top_class

THUMB = 84  # pixels per sample
DISAGREE = "#b00020"
ORIGINAL_COLOR, VARIANT_COLOR = "#555555", "#2a62c9"  # as the charts draw the two


class PreviewWidget(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        self.caption = QLabel("Load a model and choose data to see the samples it is evaluated on.")
        self.caption.setWordWrap(True)
        layout.addWidget(self.caption)
        # The names once, above the strip: under each sample only the figures, so a long variant
        # name never widens every sample.
        self.legend = QLabel("")
        self.legend.setTextFormat(Qt.RichText)
        self.legend.setWordWrap(True)
        layout.addWidget(self.legend)
        self.strip = QWidget()
        self.grid = QGridLayout(self.strip)
        self.grid.setAlignment(Qt.AlignLeft | Qt.AlignTop)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.strip)
        layout.addWidget(scroll, 1)
        self.preview = None
        self.texts = []  # one QLabel per sample, under its picture

    def setPreview(self, preview) -> None:
        """Show the samples of a core.measure.preview.Preview (None: clear)."""
        self.preview = preview
        while self.grid.count():
            old = self.grid.takeAt(0).widget()
            old.hide()  # at once: deleteLater waits for the event loop, and the strip is redrawn before
            old.deleteLater()
        self.texts = []
        if preview is None:
            self.caption.setText("No samples: the model's input size is not fixed, or no data was chosen.")
            return
        self.caption.setText(f"{len(preview.x)} samples of the {preview.source}, as the model receives them.")
        for i, x in enumerate(preview.x):
            self.grid.addWidget(_picture(x, preview.kind), 0, i)
            text = QLabel()
            text.setTextFormat(Qt.RichText)
            text.setAlignment(Qt.AlignHCenter | Qt.AlignTop)
            self.grid.addWidget(text, 1, i)
            self.texts.append(text)
        self.setPredictions([], [], ("original", "variant"))

    def setPredictions(self, original: list, variant: list, names=("original", "variant")) -> None:
        """Each sample's label, the original's prediction and the variant's (marked when its class
        differs from the original's, or for scores and values shown side by side)."""
        if self.preview is None:
            return
        shown = [f"{'its label' if any(self.preview.truth) else 'unlabelled'}"]
        if original:
            shown.append(f'<span style="color:{ORIGINAL_COLOR}">■</span> what <b>{escape(names[0])}</b> predicts')
        if variant:
            shown.append(f'<span style="color:{VARIANT_COLOR}">■</span> what <b>{escape(names[1])}</b> predicts '
                         f'(<span style="color:{DISAGREE}"><b>red</b></span> where its class differs)')
        self.legend.setText("Under each sample: " + ", then ".join(shown) + ".")
        for i, text in enumerate(self.texts):
            lines = [f"label <b>{self.preview.truth[i]}</b>" if self.preview.truth[i] else "unlabelled"]
            o = original[i] if i < len(original) else None
            v = variant[i] if i < len(variant) else None
            if o is not None:
                lines.append(f'<span style="color:{ORIGINAL_COLOR}">{escape(o)}</span>')
            if v is not None:
                differs = o is not None and top_class(v) != top_class(o) and not v.startswith("score")
                lines.append(f'<span style="color:{DISAGREE}"><b>{escape(v)}</b></span>' if differs else
                             f'<span style="color:{VARIANT_COLOR}">{escape(v)}</span>')
            text.setText("<br>".join(lines))
            text.setToolTip("\n".join(filter(None, [f"label {self.preview.truth[i]}" if self.preview.truth[i] else "",
                                                    f"{names[0]}: {o}" if o is not None else "",
                                                    f"{names[1]}: {v}" if v is not None else ""])))

    def disagreements(self) -> int:
        """How many samples are marked (for tests and the caption)."""
        return sum(DISAGREE in t.text() for t in self.texts)


def _picture(x: np.ndarray, kind: str) -> QWidget:
    if kind == "image":
        label = QLabel()
        label.setPixmap(QPixmap.fromImage(_image(x)).scaled(THUMB, THUMB, Qt.KeepAspectRatio,
                                                            Qt.FastTransformation))
        label.setAlignment(Qt.AlignCenter)
        return label
    plot = pg.PlotWidget()
    plot.setFixedSize(THUMB * 2, THUMB)
    plot.hideAxis("bottom")
    plot.setMouseEnabled(False, False)
    plot.plot(np.asarray(x, np.float64).ravel(), pen=pg.mkPen("#1f77b4", width=1))
    return plot


def _image(x: np.ndarray) -> QImage:
    """An 8-bit picture of a sample, stretched to its own min..max (inputs may be in any range)."""
    a = np.asarray(x, np.float64)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    lo, hi = float(a.min()), float(a.max())
    a = np.zeros_like(a) if hi <= lo else (a - lo) / (hi - lo)
    u8 = np.ascontiguousarray((a * 255).round().astype(np.uint8))
    h, w = u8.shape[:2]
    if u8.ndim == 2:
        return QImage(u8.data, w, h, w, QImage.Format_Grayscale8).copy()
    return QImage(u8.data, w, h, 3 * w, QImage.Format_RGB888).copy()
