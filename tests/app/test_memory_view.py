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


def test_a_channel_pruned_variant_shows_channels_before_and_after(qtbot):
    from core.tf_env import keras
    from tests.core.test_conv_forms import _int8

    k = keras()

    def cnn(filters):
        return [k.layers.Conv2D(filters, 3, activation="relu"), k.layers.MaxPool2D(), k.layers.Flatten(),
                k.layers.Dense(10)]

    original, cut = (analyze_memory(_int8(cnn(f), (28, 28, 1), "int8")) for f in (12, 3))
    w = MemoryWidget()
    qtbot.addWidget(w)
    w.setReports(original, cut, ("original", "channels"))
    labels = [r.label for r in w.bars.shown]
    assert any("CONV_2D 12→3 ch" in label for label in labels)
    assert any("MAX_POOL_2D 12→3 ch" in label for label in labels)
    assert not any("FULLY_CONNECTED" in label and "ch" in label.split("FULLY_CONNECTED")[1] for label in labels)
