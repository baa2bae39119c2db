"""Open recent survives restarts: one entry, many entries, a path that no longer exists."""

import json

from PySide6.QtCore import QSettings

from app import recent_files


def _settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)


def test_one_entry_round_trips_across_sessions(tmp_path):
    recent_files.remember(_settings(tmp_path), "/models/kws.tflite")
    assert recent_files.read(_settings(tmp_path)) == ["/models/kws.tflite"]  # a new "session"


def test_many_entries_newest_first_without_duplicates(tmp_path):
    for i in range(12):
        recent_files.remember(_settings(tmp_path), f"/m/{i % 10}.h5")
    paths = recent_files.read(_settings(tmp_path))
    assert paths[:3] == ["/m/1.h5", "/m/0.h5", "/m/9.h5"]
    assert len(paths) == recent_files.LIMIT and len(set(paths)) == len(paths)


def test_legacy_single_string_is_one_entry(tmp_path):
    s = _settings(tmp_path)
    s.setValue("recent", ["/models/only.tflite"])  # what the old version wrote
    s.sync()
    assert recent_files.read(_settings(tmp_path)) == ["/models/only.tflite"]


def test_garbage_in_settings_is_ignored(tmp_path):
    s = _settings(tmp_path)
    s.setValue(recent_files.KEY, json.dumps(["/ok.h5", 3, None, "", {"x": 1}]))
    s.sync()
    assert recent_files.read(_settings(tmp_path)) == ["/ok.h5"]
    s.setValue(recent_files.KEY, "{not json")
    assert recent_files.read(s) == []


def test_window_menu_marks_and_drops_missing_files(window, tmp_path):
    real = tmp_path / "real.tflite"
    real.write_bytes(b"x")
    recent_files.remember(window.settings, str(tmp_path / "gone.tflite"))
    recent_files.remember(window.settings, str(real))
    window.recent.fill()
    texts = [a.text() for a in window.recent_menu.actions() if a.text()]
    assert texts[0] == str(real) and texts[1].endswith("(not found)")
    assert "Clear this list" in texts
    window.recent.open(str(tmp_path / "gone.tflite"))  # shows a message, opens nothing
    assert not window.busy and "no longer exists" in window.last_error
    assert recent_files.read(window.settings) == [str(real)]
