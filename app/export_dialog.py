"""Export… dialog: destination, C prefix, zip, overwrite, and a summary of what will be written."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (QCheckBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout,
                               QLabel, QLineEdit, QPushButton, QWidget)


class ExportDialog(QDialog):
    def __init__(self, variant_name: str, package_name: str, default_dir: str, parent=None,
                 target: str | None = None):
        super().__init__(parent)
        self._target = target
        self.setWindowTitle(f"Export {variant_name}")
        self._package = package_name
        form = QFormLayout(self)
        row = QWidget()
        h = QHBoxLayout(row)
        h.setContentsMargins(0, 0, 0, 0)
        self.folder = QLineEdit(default_dir)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._on_browse_clicked)
        h.addWidget(self.folder, 1)
        h.addWidget(browse)
        form.addRow("Destination folder", row)
        self.prefix = QLineEdit("g_model")
        form.addRow("C symbol prefix", self.prefix)
        self.zip = QCheckBox("Also write a .zip")
        form.addRow("", self.zip)
        self.overwrite = QCheckBox("Replace an existing package")
        form.addRow("", self.overwrite)
        self.verify = QCheckBox(f"Verify on target ({target or 'no emulated core for this device'}): build the "
                                "package with its Makefile, run it in QEMU, compare with the host TFLM")
        self.verify.setEnabled(target is not None)
        self.verify.setChecked(target is not None)
        form.addRow("", self.verify)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        form.addRow(self.summary)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.button(QDialogButtonBox.Ok).setText("Export")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        for w in (self.folder, self.prefix):
            w.textChanged.connect(self._update_summary)
        self.zip.toggled.connect(self._update_summary)
        self._update_summary()

    def _on_browse_clicked(self):
        path = QFileDialog.getExistingDirectory(self, "Export to", self.folder.text())
        if path:
            self.folder.setText(path)

    def _update_summary(self):
        from core.export import FILES

        target = Path(self.folder.text() or ".") / self._package
        extra = f" and {target}.zip" if self.zip.isChecked() else ""
        where = f"on the emulated {self._target}" if self._target else "on the host TFLM"
        self.summary.setText(f"Writes {target}/ with {', '.join(FILES)}{extra}. The arena size is measured "
                             f"{where} and checked by loading the model at that size.")
