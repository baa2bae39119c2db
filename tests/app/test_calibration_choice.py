"""A model with no data is not a dead end in the window: integer quantization is refused with a
message that names the window's controls (never a command-line flag), and the Calibration choice
(synthetic inputs, accuracy unknown) makes it run, marked in the table."""

from app.setup_panel import NO_DATA
from tests.app.conftest import wait_idle


def test_no_data_int8_names_the_controls_then_runs_with_synthetic_calibration(window, qtbot, tiny_h5):
    window.openModel(str(tiny_h5))
    wait_idle(qtbot, window)
    window.panel.dataset.setCurrentText(NO_DATA)
    window.panel._on_dataset_activated(window.panel.dataset.currentIndex())
    assert window.panel.calibration.isEnabled() and "needs synthetic calibration" in window.panel.calibration_note.text()
    window.panel.sequence.setRecipeSteps([{"name": "quantize", "params": {"modes": ["int8"]}}])
    window._on_run_clicked()
    wait_idle(qtbot, window, 300_000)
    text = window.error_box.text()
    assert "Dataset picker" in text and "Calibration › synthetic inputs" in text
    assert "--" not in text  # no command-line flag in the window
    row = window.panel.calibration.findData("synthetic")
    window.panel.calibration.setCurrentIndex(row)
    window.panel.calibration.activated.emit(row)
    assert window.currentRecipe().steps[0]["params"]["calibration"] == "synthetic"  # the step's own parameter
    assert "accuracy is unknown" in window.panel.calibration_note.text()
    window._on_run_clicked()
    wait_idle(qtbot, window, 300_000)
    assert [p.name for p in window.variants.payloads] == ["original", "int8"], window.panel.status.text()
    assert "synthetic calibration" in window.results.item(1, 0).text()
    window.panel.dataset.setCurrentText("mnist-5k")  # with data, the choice does not apply
    window.panel._on_dataset_activated(window.panel.dataset.currentIndex())
    assert not window.panel.calibration.isEnabled()


def test_engine_messages_name_settings_per_face():
    from app.setting_names import WINDOW_NAMES
    from core.errors import FLAGS, DataError, setting

    err = DataError(f"Give your data with {setting('data')}, or run with {setting('no_data')}.")
    assert str(err) == "Give your data with --data (an image folder, arrays or a CSV), or run with --data none."
    assert err.render(WINDOW_NAMES) == ("Give your data with the Dataset picker (an image folder, arrays or a "
                                        "CSV), or run with Dataset › No data.")
    assert set(WINDOW_NAMES) == set(FLAGS)  # every setting a message may name has a control here
    import pickle

    assert pickle.loads(pickle.dumps(err)).render(WINDOW_NAMES) == err.render(WINDOW_NAMES)  # from the engine
