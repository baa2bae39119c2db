"""GUI tests run offscreen. The embedded web view is exercised in a child process
(test_graph_view.py): in-process, Chromium and TensorFlow cannot both tear down at exit."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["TINYOPT_NO_WEBENGINE"] = "1"

import pytest  # noqa: E402


@pytest.fixture
def window(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from app.main_window import MainWindow

    w = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat))
    qtbot.addWidget(w)
    w.show()
    yield w
    w.shutdown()


@pytest.fixture(scope="session")
def tiny_h5(tmp_path_factory):
    """A tiny Keras model for 28x28 digits (a few seconds to convert and evaluate)."""
    from core.tf_env import keras

    k = keras()
    model = k.Sequential([k.layers.InputLayer((28, 28)), k.layers.Flatten(), k.layers.Dense(10)])
    path = tmp_path_factory.mktemp("tiny") / "tiny.h5"
    model.save(str(path))
    return path


def wait_idle(qtbot, window, timeout=120_000):
    qtbot.waitUntil(lambda: not window.busy, timeout=timeout)


def export_selected(window, qtbot, monkeypatch, folder, timeout=300_000):
    """Export the selected variant through the Export dialog, accepted with `folder`; the package."""
    from app import export_dialog

    def accept(dialog):
        dialog.folder.setText(str(folder))
        return export_dialog.ExportDialog.Accepted

    monkeypatch.setattr(export_dialog.ExportDialog, "exec", accept)
    window.panel.export_button.click()
    wait_idle(qtbot, window, timeout)
    (package,) = folder.iterdir()
    return package
