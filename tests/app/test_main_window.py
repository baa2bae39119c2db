"""The window as a user drives it: load, toggle, run, cancel, bad files."""

import subprocess
import sys

from PySide6.QtCore import Qt

from tests.app.conftest import export_selected, wait_idle
from tests.conftest import ROOT, shared_model


def test_window_opens_without_tensorflow():
    code = ("import sys, time; t = time.perf_counter()\n"
            "from PySide6.QtWidgets import QApplication\n"
            "from app.main_window import MainWindow\n"
            "app = QApplication([]); w = MainWindow(); w.show(); app.processEvents()\n"
            "print('tensorflow' in sys.modules, w.windowTitle(), w.windowIcon().isNull())")
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                       env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"})
    assert p.stdout.strip() == "False TinyOpt Studio False", p.stderr[-1000:]


def test_loading_a_model_fills_title_and_views(window, qtbot):
    window.openModel(str(shared_model("kws_ref_model.tflite")))
    wait_idle(qtbot, window)
    assert window.windowTitle() == "TinyOpt Studio — kws_ref_model.tflite"
    assert "TFLITE model, 53,936 bytes" in window.panel.model_label.text()
    assert "13 operators" in window.memory._caption.text()
    assert window.graph.original.server.address[0] == "127.0.0.1"


def test_toggling_components_changes_the_recipe_and_flags_bad_orders(window, qtbot):
    window.panel.sequence.setRecipeSteps([{"name": "quantize", "params": {"modes": ["int8"]}}])
    assert [s["name"] for s in window.currentRecipe().steps] == ["quantize"]
    window.panel.sequence.box("prune").setChecked(True)
    assert [s["name"] for s in window.currentRecipe().steps] == ["prune", "quantize"]
    window.openModel(str(shared_model("kws_ref_model.tflite")))
    wait_idle(qtbot, window)
    assert "needs a Keras model" in window.panel.validation.text() and not window.panel.run_button.isEnabled()
    window.panel.sequence.box("prune").setChecked(False)
    window.panel.sequence.box("quantize").setChecked(False)
    window.panel.sequence.box("graph").setChecked(True)
    assert window.panel.validation.text() == "" and window.panel.run_button.isEnabled()


def test_run_shows_variants_and_moves_the_progress_bar(window, qtbot, tiny_h5):
    window.openModel(str(tiny_h5))
    wait_idle(qtbot, window)
    window.panel.sequence.setRecipeSteps([{"name": "quantize", "params": {"modes": ["int8", "dynamic"]}}])
    values = []
    window.panel.progress.valueChanged.connect(values.append)
    window.panel.run_button.click()
    wait_idle(qtbot, window, 300_000)
    assert window.results.rowCount() == 3 and window.panel.status.text().startswith("Done: 3 variant(s)")
    assert any(v > 0 for v in values)
    names = [window.results.item(r, 0).text() for r in range(3)]
    assert names == ["original", "dynamic", "int8"]  # modes in the panel's order
    window.results.selectRow(2)
    assert window.panel.export_button.isEnabled() and "int8" in window.memory._caption.text()
    (_, original), (_, variant) = window.confusion.tables  # the Classes tab: 10x10 confusion matrices
    assert original.rowCount() == variant.rowCount() == 10
    assert sum(int(variant.item(i, j).text()) for i in range(10) for j in range(10)) == 1000
    assert "Rows: true class" in window.confusion.caption.text()


def test_cancel_returns_to_ready_with_finished_variants(window, qtbot, tiny_h5):
    window.openModel(str(tiny_h5))
    wait_idle(qtbot, window)
    window.panel.sequence.setRecipeSteps([{"name": "prune", "params": {"epochs": 20}},
                                    {"name": "quantize", "params": {"modes": ["int8"]}}])
    window.panel.run_button.click()
    qtbot.waitUntil(lambda: window.results.rowCount() >= 1 and "prune" in window.panel.status.text(), timeout=120_000)
    window.panel.cancel_button.click()
    wait_idle(qtbot, window, 120_000)
    assert window.panel.status.text().startswith("Cancelled: kept 1 variant(s)")
    assert window.results.rowCount() == 1 and window.panel.run_button.isEnabled()


def test_bad_file_shows_a_dialog_and_keeps_the_previous_model(window, qtbot, tmp_path):
    window.openModel(str(shared_model("kws_ref_model.tflite")))
    wait_idle(qtbot, window)
    bad = tmp_path / "broken.tflite"
    bad.write_bytes(b"\x00" * 100)
    window.openModel(str(bad))
    wait_idle(qtbot, window)
    assert window.error_box is not None and "broken.tflite" in window.error_box.text()
    assert window.loaded.path.endswith("kws_ref_model.tflite")
    assert window.windowTitle().endswith("kws_ref_model.tflite")


def test_export_from_the_window(window, qtbot, tiny_h5, tmp_path, monkeypatch):
    window.openModel(str(tiny_h5))
    wait_idle(qtbot, window)
    window.panel.sequence.setRecipeSteps([{"name": "quantize", "params": {"modes": ["int8"]}}])
    window.panel.run_button.click()
    wait_idle(qtbot, window, 300_000)
    window.results.selectRow(1)
    folder = export_selected(window, qtbot, monkeypatch, tmp_path / "exports")
    assert window.panel.status.text().startswith("Exported to ")
    assert (folder / "op_resolver.h").exists() and (folder / "recipe.json").exists()


def test_memory_hover_names_the_operator(qtbot):
    from PySide6.QtCore import QPointF

    from app.qt_memory import MemoryWidget
    from core.analysis.memory import analyze_memory

    w = MemoryWidget()
    qtbot.addWidget(w)
    w.resize(900, 700)
    w.show()
    w.setReports(analyze_memory(shared_model("kws_ref_model.tflite").read_bytes()), None)
    qtbot.wait(50)
    w.bars._on_mouse_moved(w.bars.plots[1].vb.mapViewToScene(QPointF(100, 1)), w.bars.views[1])
    assert "op 1 DEPTHWISE_CONV_2D" in w._hover.text() and "RAM live 16,000 B" in w._hover.text()


def test_model_code_needs_the_users_confirmation_naming_file_and_layer(window, qtbot, tmp_path):
    from PySide6.QtWidgets import QMessageBox

    from core.tf_env import keras

    k = keras()
    model = k.Sequential([k.layers.InputLayer(input_shape=(4,)),
                          k.layers.Lambda(lambda t: t * 2.0, name="doubler"), k.layers.Dense(2)])
    path = tmp_path / "lambda.h5"
    model.save(str(path))
    window.openModel(str(path))
    wait_idle(qtbot, window)
    box = window.error_box
    assert window.loaded is None and box.isVisible()
    assert "lambda.h5" in box.text() and "'doubler'" in box.text() and str(path) in box.text()
    assert box.defaultButton() is box.button(QMessageBox.Cancel)  # trust is never the default
    trust = next(b for b in box.buttons() if b.text() == "Trust and load")
    trust.click()
    qtbot.waitUntil(lambda: window.loaded is not None, timeout=120_000)
    assert window.loaded.trust_model_code and window.loaded.path == str(path)


def test_dataset_picker_greys_out_builtin_sets_that_are_not_the_models_input(window, qtbot):
    window.openModel(str(shared_model("pretrainedResnet_quant.tflite")))  # 32x32x3 CIFAR-10
    wait_idle(qtbot, window)
    items = window.panel.dataset.model()
    for name in ("mnist-5k", "digits"):
        row = window.panel.dataset.findText(name)
        assert not items.item(row).isEnabled()
        assert "never resized" in window.panel.dataset.itemData(row, Qt.ToolTipRole)
    assert window.panel.currentData() is None  # no silent adaptation: No data until the user gives some
    window.openModel(str(shared_model("seed_cnn_fashion_int8.tflite")))  # 28x28
    wait_idle(qtbot, window)
    assert items.item(window.panel.dataset.findText("mnist-5k")).isEnabled()
    assert not items.item(window.panel.dataset.findText("digits")).isEnabled()
    assert window.panel.currentData() == "mnist-5k"  # the user's choice comes back once the model fits it
    window.panel.chooseData("/data/my_images")
    assert window.panel.currentData() == "/data/my_images"
    assert window.panel.input_range.itemText(0) == "detected: 0..1" and window.currentRecipe().input_range is None
    window.panel.input_range.setCurrentIndex(window.panel.input_range.findText("-1..1"))
    assert window.currentRecipe().input_range == [-1.0, 1.0]
