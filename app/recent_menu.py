"""File › Open recent: the recent models (app/recent_files.py) as a menu; a moved file is marked,
and choosing it drops it from the list with a message instead of a failed load."""

from __future__ import annotations

from pathlib import Path

from app import recent_files


class RecentMenu:
    def __init__(self, menu, settings, open_model, error):
        self.menu, self.settings, self._open, self._error = menu, settings, open_model, error
        self.fill()

    def fill(self) -> None:
        self.menu.clear()
        paths = recent_files.read(self.settings)
        for p in paths:
            action = self.menu.addAction(p, lambda p=p: self.open(p))
            if not Path(p).exists():
                action.setText(f"{p}  (not found)")
                action.setToolTip("The file was moved or deleted; choosing it removes it from this list.")
        if paths:
            self.menu.addSeparator()
            self.menu.addAction("Clear this list", self.clear)
        self.menu.setEnabled(bool(paths))

    def remember(self, path: str) -> None:
        recent_files.remember(self.settings, path)
        self.settings.setValue("last_dir", str(Path(path).parent))
        self.fill()

    def open(self, path: str) -> None:
        if not Path(path).exists():
            recent_files.forget(self.settings, path)
            self.fill()
            return self._error("Open recent", f"{path} no longer exists; it was removed from the recent list.")
        self._open(path)

    def clear(self) -> None:
        recent_files.forget(self.settings)
        self.fill()
