"""ONNX models in the window: the summary says how the conversion went; a model that could not be
rebuilt greys out the training steps naming the op; a broken .onnx keeps the model shown."""

import pytest

pytest.importorskip("onnx")

from tests.app.conftest import wait_idle  # noqa: E402
from tests.core import onnx_models  # noqa: E402


def test_onnx_models_in_the_window(window, qtbot, tmp_path):
    panel = window.panel
    window.openModel(str(onnx_models.cnn(tmp_path / "cnn.onnx")))
    wait_idle(qtbot, window, 300_000)
    text = panel.model_label.text()
    assert "cnn.onnx" in text and "from ONNX by onnx2tf" in text and "rebuilt as Keras layers" in text, text
    assert panel.sequence.box("prune").isEnabled() and panel.sequence.box("qat").isEnabled()

    window.openModel(str(onnx_models.cnn(tmp_path / "sine.onnx", activation="Sin")))
    wait_idle(qtbot, window, 300_000)
    text = panel.model_label.text()
    assert "post-training steps only" in text and "1 TRANSPOSE left" in text, text
    prune = panel.sequence.box("prune")
    assert not prune.isEnabled() and "tf.math.sin" in prune.toolTip()
    assert panel.sequence.box("quantize").isEnabled()
    panel.sequence.setRecipeSteps([{"name": "prune", "params": {}}, {"name": "quantize", "params": {}}])
    assert "cannot change this model" in panel.validation.text() and not panel.run_button.isEnabled()
    panel.sequence.setRecipeSteps([{"name": "quantize", "params": {}}])
    assert panel.validation.text() == "" and panel.run_button.isEnabled()

    window.openModel(str(onnx_models.custom_op(tmp_path / "vendor.onnx")))
    wait_idle(qtbot, window, 300_000)
    assert window.error_box is not None and "vendor.onnx" in window.error_box.text()
    assert "FancyActivation" in window.error_box.text()
    assert window.loaded.path.endswith("sine.onnx") and "sine.onnx" in window.windowTitle()
