"""The window with a device that has an emulated core: every TFLM-runnable variant is measured on
it, the latency column shows the target's instructions and estimated time, and the Target tab
draws instructions per operator for the original and the selected variant."""

import os

import pytest

from core.target import toolchain
from tests.app.conftest import wait_idle
from tests.conftest import shared_model

if not toolchain.available() and not os.environ.get("TINYOPT_REQUIRE_TARGET"):
    pytest.skip("the Arm toolchain and QEMU are not installed (make setup-target)", allow_module_level=True)

# The first test to need a target builds TFLM for it (5-7 minutes per CPU on 2 cores).
pytestmark = pytest.mark.timeout(1800)


def test_device_with_a_core_measures_variants_on_it(window, qtbot, tmp_path, monkeypatch):
    from app import export_dialog

    window.openModel(str(shared_model("seed_cnn_fashion_int8.tflite")))
    wait_idle(qtbot, window)
    row = next(i for i in range(window.panel.device.count()) if "nRF52840" in window.panel.device.itemText(i))
    window.panel.device.setCurrentIndex(row)
    window.panel._on_device_activated(row)
    assert "cortex-m4f" in window.panel.target_label.text()
    recipe = window.currentRecipe()
    assert (recipe.target, recipe.kernels, recipe.clock_mhz) == ("cortex-m4f", "cmsis-nn", 64)
    window.panel.sequence.setRecipeSteps([{"name": "strip", "params": {}}])
    window._on_run_clicked()
    wait_idle(qtbot, window, 1_500_000)  # the first run on a machine builds TFLM for the core
    assert len(window.variants.payloads) == 2 and all(p.metrics.target is not None for p in window.variants.payloads)
    assert "M instr" in window.results.item(0, 6).text() and "ms" in window.results.item(0, 6).text()
    assert "exact" in window.results.item(0, 6).toolTip()
    window.results.selectRow(0)
    window.results.selectRow(1)
    statuses = [status for status, _, _ in window.target_view.rows]
    assert statuses and all(b is not None and v is not None for _, b, v in window.target_view.rows)
    assert "instructions" in window.target_view.caption.text()
    _fits_with_its_code(window)

    def accept(dialog):
        assert dialog.verify.isChecked()  # the device has a core: verify there by default
        dialog.folder.setText(str(tmp_path / "exports"))
        return export_dialog.ExportDialog.Accepted

    monkeypatch.setattr(export_dialog.ExportDialog, "exec", accept)
    window.panel.export_button.click()
    wait_idle(qtbot, window, 600_000)
    assert "Verified on Cortex-M4F" in window.panel.status.text() and "outputs equal" in window.panel.status.text()
    assert "Firmware on cortex-m4f (cmsis-nn): flash" in window.panel.status.text()
    (folder,) = (tmp_path / "exports").iterdir()
    assert "Cortex-M4F" in (folder / "model_settings.h").read_text()
    window.panel.on_target.setChecked(False)
    assert window.currentRecipe().target == "none"


def _fits_with_its_code(window):
    """The firmware columns show the measured totals; a device whose flash holds the model's bytes
    but not the TFLM code beside them is shown as not fitting, and says what is over."""
    import dataclasses

    from app.qt_results import FITS_COLUMN, FLASH_COLUMN

    results = window.results
    row = next(r for r in range(results.rowCount()) if results.item(r, 0).text() == "original")
    fp = window.variants.payloads[0].metrics.footprint
    assert fp is not None and fp.model == 23_208 and fp.flash_total > fp.model + 50_000
    assert results.item(row, FLASH_COLUMN).text() == f"{fp.flash_total:,}"
    assert results.item(row, FLASH_COLUMN + 1).text() == f"{fp.ram_total:,}"
    assert "TFLM framework" in results.item(row, FLASH_COLUMN).toolTip()
    assert results.item(row, FITS_COLUMN).text() == "yes"
    device = window.panel.setup.device
    tight = dataclasses.replace(device, name="tight", flash=(fp.model + fp.flash_total) // 2)
    results.setDevice(tight)
    row = next(r for r in range(results.rowCount()) if results.item(r, 0).text() == "original")
    assert fp.model < tight.flash and results.item(row, FITS_COLUMN).text() == "no"
    assert f"firmware flash {fp.flash_total:,} B" in results.item(row, FITS_COLUMN).toolTip()
    results.setDevice(device)


def test_every_row_of_the_default_sequence_shows_on_the_target_tab(window, qtbot):
    """The default sequence ends in LUT compression, which these targets do not run: rows without a
    target run show the baseline and say why, and no row raises."""
    from core.presets import DEFAULT

    window.loadReference()
    wait_idle(qtbot, window, 600_000)
    row = next(i for i in range(window.panel.device.count()) if "nRF52840" in window.panel.device.itemText(i))
    window.panel.device.setCurrentIndex(row)
    window.panel._on_device_activated(row)
    window.panel.sequence.setRecipeSteps(DEFAULT)
    window._on_run_clicked()
    wait_idle(qtbot, window, 1_500_000)
    assert window.panel.status.text().startswith("Done"), window.panel.status.text()
    untargeted = [i for i, p in enumerate(window.variants.payloads) if p.metrics.target is None]
    assert untargeted and any(p.metrics.target is not None for p in window.variants.payloads)
    for i in range(len(window.variants.payloads)):
        window.results.selectRow(i)
        caption = window.target_view.caption.text()
        if i in untargeted:
            assert f"{window.variants.payloads[i].name}: no target run" in caption
        else:
            assert "instructions" in caption
    window.results.selectRow(untargeted[-1])
    assert window.target_view.bars.shown  # the baseline's operators are still drawn


def test_a_device_without_an_emulated_core_estimates_its_footprint_on_a_built_one(window, qtbot):
    from core.target.build import firmware
    from core.target.targets import get

    firmware(get("cortex-m4f"), "cmsis-nn")  # the stand-in must be built: the run never builds it
    window.openModel(str(shared_model("seed_cnn_fashion_int8.tflite")))
    wait_idle(qtbot, window)
    row = next(i for i in range(window.panel.device.count()) if "M0+" in window.panel.device.itemText(i))
    window.panel.device.setCurrentIndex(row)
    window.panel._on_device_activated(row)
    recipe = window.currentRecipe()
    assert (recipe.target, recipe.footprint_target) == ("none", "cortex-m4f")
    window.panel.sequence.setRecipeSteps([{"name": "strip", "params": {}}])
    window._on_run_clicked()
    wait_idle(qtbot, window, 600_000)
    fp = window.variants.payloads[0].metrics.footprint
    assert fp is not None and fp.target == "cortex-m4f" and "estimate" in fp.note.lower()
    from app.qt_results import FITS_COLUMN, FLASH_COLUMN

    assert "An estimate" in window.results.item(0, FLASH_COLUMN).toolTip()
    assert window.results.item(0, FITS_COLUMN).text() == "yes"  # 32 KB RAM / 256 KB flash: it fits
