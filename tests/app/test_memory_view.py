"""The memory view draws the original and the variant operator by operator, matched by what they
compute: an operator only the variant has is shown as added, and hovering shows both sides."""

from PySide6.QtCore import QPointF

from app.qt_memory import MemoryWidget
from core.analysis.memory import analyze_memory
from tests.conftest import shared_model


def test_float_original_beside_its_int8_file(qtbot):
    from core.model.loading import load_model
    from core.steps.quantize import convert

    float_ = analyze_memory(convert(load_model(shared_model("seed_cnn_fashion_base.h5")).model, "float32"))
    int8 = analyze_memory(shared_model("seed_cnn_fashion_int8.tflite").read_bytes())
    w = MemoryWidget()
    qtbot.addWidget(w)
    w.resize(900, 700)
    w.show()
    w.setReports(float_, int8, ("original", "int8"))
    rows = w.rowStatus()
    assert ("matched", "FULLY_CONNECTED", "FULLY_CONNECTED") in rows
    assert ("added", None, "QUANTIZE") in rows and ("replaced", "CONV_2D", "DEPTHWISE_CONV_2D") in rows
    assert "added" in w._caption.text() and "against original" in w._caption.text()
    fc = [i for i, r in enumerate(rows) if r[1] == "FULLY_CONNECTED"][0]
    qtbot.wait(50)
    drawn = next(i for i, r in enumerate(w.bars.shown) if "FULLY_CONNECTED" in r.label)
    assert drawn == fc  # few operators: graph order
    w.bars._on_mouse_moved(w.bars.plots[1].vb.mapViewToScene(QPointF(100, drawn)), w.bars.views[1])  # the RAM panel
    text = w._hover.text()
    assert "original: op" in text and "int8: op" in text and text.count("FULLY_CONNECTED") == 2
