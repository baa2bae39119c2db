"""An Ethos-U device in the window: its variants get Vela's figures in the results table and the
Target tab shows, per operator, NPU or CPU (with the reason), labelled as Vela's estimates."""

import pytest

pytest.importorskip("ethosu.vela")

from tests.app.conftest import wait_idle  # noqa: E402


def test_an_npu_device_shows_vela_figures(window, qtbot, tiny_h5):
    from app.qt_results import NPU_COLUMN

    panel = window.panel
    window.openModel(str(tiny_h5))
    wait_idle(qtbot, window)
    assert window.results.isColumnHidden(NPU_COLUMN)
    row = next(i for i in range(panel.device.count()) if "Himax" in panel.device.itemText(i))
    panel.device.setCurrentIndex(row)
    panel._on_device_activated(row)
    assert "Ethos-U55-64" in panel.target_label.text() and "Vela's estimates" in panel.target_label.text()
    panel.on_target.setChecked(False)  # the NPU needs no emulated core: Vela alone
    recipe = panel.setup.recipe()
    assert recipe.npu == "ethos-u55-64" and recipe.npu_clock_mhz == 400 and recipe.target == "none"
    panel.sequence.setRecipeSteps([{"name": "quantize", "params": {"modes": ["full-int", "int8"]}}])
    panel.run_button.click()
    wait_idle(qtbot, window, 300_000)
    assert not window.results.isColumnHidden(NPU_COLUMN)
    cells = {window.results.item(r, 0).text(): window.results.item(r, NPU_COLUMN) for r in range(3)}
    assert cells["original"].text() == "-" and "Keras model" in cells["original"].toolTip()
    assert "NPU / 2 CPU ops" in cells["full-int"].text() and "QUANTIZE" in cells["full-int"].toolTip()
    assert "0 CPU ops" in cells["int8"].text()
    assert "estimate (Vela 5.2.0, Ethos-U55-64" in cells["int8"].toolTip()
    full_int = next(r for r in range(3) if window.results.item(r, 0).text() == "full-int")
    window.results.selectRow(full_int)
    target = window.target_view
    assert target.npu_bars.isVisibleTo(target) and "400 MHz ()" not in target.npu_caption.text()
    assert "2 on the CPU" in target.npu_caption.text() and "nothing here emulates the NPU" in target.npu_caption.text()
