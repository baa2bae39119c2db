"""The Explore tab: a search from the window draws every trial, marks the front and the best for
the device, hands a trial's variant to the results table (where it exports like a run's), and
Cancel stops after the running trial keeping every finished one."""

import json

import pytest

from tests.app.conftest import wait_idle

pytestmark = pytest.mark.slow


def test_search_in_the_window_plots_trials_and_a_click_exports_one(window, qtbot, reference_h5, tmp_path,
                                                                   monkeypatch):
    from app import export_dialog

    window.openModel(str(reference_h5))
    wait_idle(qtbot, window)
    explore = window.explore
    assert "Cortex-M0+" in window.panel.device.currentText()  # 32 KB RAM, 256 KB flash
    explore.trials.setValue(4)
    explore.folder.setText(str(tmp_path / "search"))
    explore.search_button.click()
    assert window.jobs.searching and window.tabs.currentWidget() is explore
    wait_idle(qtbot, window, 900_000)
    assert explore.progress.text().startswith("Done: "), explore.progress.text()
    saved = json.loads((tmp_path / "search" / "front.json").read_text())
    assert set(explore.points) == {t["number"] for t in saved["trials"]}
    assert {p.number for p in explore.points.values() if p.front} == {t["number"] for t in saved["front"]}
    assert len(explore.scatter.points()) == len(explore.points)
    assert explore.axes()[:2] == ("flash", "accuracy")
    assert explore.budget_line.isVisible() and explore.budget_line.value() == 256 * 1024
    for spot in explore.scatter.points():  # infeasible grey, feasible coloured
        p = explore.points[spot.data()]
        assert (spot.brush().color().getRgb()[:3] == (170, 170, 170)) == (not p.feasible)
    front = next(p for p in explore.points.values() if p.front)
    assert f"trial {front.number}: " in explore._tip(0, 0, front.number)
    explore.choose(front.number)
    names = [p.name for p in window.variants.payloads]
    assert names == ["original", front.variant.name]
    assert window.results.selectedIndex() == 1 and window.panel.export_button.isEnabled()

    def accept(dialog):
        dialog.folder.setText(str(tmp_path / "exports"))
        dialog.verify.setChecked(False)
        return export_dialog.ExportDialog.Accepted

    monkeypatch.setattr(export_dialog.ExportDialog, "exec", accept)
    window.panel.export_button.click()
    wait_idle(qtbot, window)
    (package,) = (tmp_path / "exports").iterdir()
    tflite = next(package.glob("*.tflite"))
    trial = tmp_path / "search" / "trials" / f"{front.number:04d}"
    assert tflite.read_bytes() == next(trial.glob("*.tflite")).read_bytes()
    # A new search replaces the engine's trials: their rows leave the table with them.
    explore.trials.setValue(2)
    explore.folder.setText(str(tmp_path / "again"))
    explore.search_button.click()
    assert window.variants.payloads == [] and window.results.rowCount() == 0
    wait_idle(qtbot, window, 900_000)


def test_cancel_stops_after_the_running_trial_and_keeps_the_finished(window, qtbot, reference_h5, tmp_path):
    window.openModel(str(reference_h5))
    wait_idle(qtbot, window)
    explore = window.explore
    explore.trials.setValue(8)
    explore.folder.setText(str(tmp_path / "search"))
    explore.search_button.click()
    qtbot.waitUntil(lambda: explore.done >= 1, timeout=600_000)
    window.panel.cancel_button.click()
    assert "after the running trial" in window.panel.status.text()
    wait_idle(qtbot, window, 600_000)
    assert explore.progress.text().startswith("Stopped after the running trial"), explore.progress.text()
    saved = json.loads((tmp_path / "search" / "front.json").read_text())
    assert 1 <= len(saved["trials"]) < 8 and explore.done < 8
    for t in saved["trials"]:  # every finished trial kept with its variant
        assert (tmp_path / "search" / "trials" / f"{t['number']:04d}" / "metrics.json").exists()
    # Resume: the earlier trials are drawn first (without a variant to click), then the rest runs.
    kept = explore.done
    explore.resume.setChecked(True)
    explore.trials.setValue(kept + 1)
    explore.search_button.click()
    wait_idle(qtbot, window, 600_000)
    assert explore.resumed == kept and explore.done == kept + 1, explore.progress.text()
    assert {t["number"] for t in saved["trials"]} <= set(explore.points)
    assert all(explore.points[t["number"]].variant is None for t in saved["trials"])
