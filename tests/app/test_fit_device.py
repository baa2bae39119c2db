"""Fit the device: one action sets channel pruning to the chosen device's budget (then int8), and the
run's channel step reports the rounds it measured."""

from tests.app.conftest import wait_idle


def test_fit_the_device_sets_the_budget_and_runs(window, qtbot, reference_h5):
    window.openModel(str(reference_h5))
    wait_idle(qtbot, window)
    row = next(i for i in range(window.panel.device.count()) if "Cortex-M0+" in window.panel.device.itemText(i))
    window.panel.device.setCurrentIndex(row)
    window.panel._on_device_activated(row)
    window.panel.sequence.setRecipeSteps([{"name": "strip", "params": {}}])
    window.panel.fitDevice()
    steps = {s["name"]: s["params"] for s in window.currentRecipe().steps}
    assert list(steps) == ["channels", "quantize", "strip"]  # the user's own step stays
    assert (steps["channels"]["flash_budget"], steps["channels"]["arena_budget"]) == (256 * 1024, 32 * 1024)
    assert steps["quantize"]["modes"] == ["int8"] and "fits 262,144 B of flash" in window.panel.status.text()
    window.panel.sequence.box("channels").editors["epochs"].set(0)
    window.panel.sequence.sequenceChanged.emit()
    window._on_run_clicked()
    wait_idle(qtbot, window, 300_000)
    assert window.panel.status.text().startswith("Done"), window.panel.status.text()
    assert "start: flash 23,616 B" in window.log.toPlainText()  # the reference already fits: no cut
    assert [p.name for p in window.variants.payloads][-1] == "channels+int8+stripped"
