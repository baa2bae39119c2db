"""The question before a model's stored code runs: granted here, by the user, for this file only;
never by a recipe. Cancel is the default."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QMessageBox


def ask_trust(parent, error, on_trust) -> QMessageBox:
    """Open the question for `error` (core.errors.UnsafeModelError); `on_trust()` if the user trusts."""
    layers = ", ".join(f"'{n}'" for n in error.layers)
    box = QMessageBox(QMessageBox.Warning, "Run code stored in the model?",
                      f"{Path(error.path).name}: layer {layers} stores Python code that runs when the model is "
                      f"loaded.\n\nLoad it only if you trust where this file came from:\n{error.path}",
                      QMessageBox.Cancel, parent)
    trust = box.addButton("Trust and load", QMessageBox.AcceptRole)
    box.setDefaultButton(QMessageBox.Cancel)
    box.buttonClicked.connect(lambda button: on_trust() if button is trust else None)
    box.open()
    return box
