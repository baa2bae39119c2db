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
    assert "start: flash 22,544 B" in window.log.toPlainText()  # stripped, as the budget counts it: no cut
    assert [p.name for p in window.variants.payloads][-1] == "channels+int8+stripped"


def test_a_latency_budget_becomes_an_instructions_budget(window):
    """5 ms on a 64 MHz Cortex-M4F: 320,000 instructions at one per cycle, said as an estimate; a
    device without an emulated core cannot budget latency and says so."""
    panel = window.panel

    def choose(text):
        row = next(i for i in range(panel.device.count()) if text in panel.device.itemText(i))
        panel.device.setCurrentIndex(row)
        panel._on_device_activated(row)

    choose("nRF52840")
    panel.latency.setValue(5.0)
    panel.fitDevice()
    channels = {s["name"]: s["params"] for s in window.currentRecipe().steps}["channels"]
    if panel.setup.target == "cortex-m4f":
        assert channels["instructions_budget"] == 320_000 and channels["budget_of"] == "firmware"
        assert "firmware fits 1,048,576 B of flash (model + TFLM code)" in panel.status.text()
        assert "320,000 instructions (5 ms at 64 MHz" in panel.status.text() and "estimate" in panel.status.text()
    else:  # no toolchain on this machine: no emulated core to count on
        assert channels["instructions_budget"] == 0 and "needs an emulated core" in panel.status.text()
        assert channels["budget_of"] == "model" and "not counted" in panel.status.text()
    choose("Cortex-M0+ (32 KB")
    panel.fitDevice()
    channels = {s["name"]: s["params"] for s in window.currentRecipe().steps}["channels"]
    assert channels["instructions_budget"] == 0 and "needs an emulated core" in panel.status.text()
    assert channels["budget_of"] == "model" and "not counted" in panel.status.text()
