"""The setup panel (the window's left side): the model, its data, calibration, input scaling and
task, the device and its emulated core, a preset and the sequence, the Run/Cancel/Export buttons,
progress and status.

Its widgets edit one `Setup` (app/setup_model.py): every edit is read into it (`_read`), and an
opened recipe or a run's record is written back into the widgets (`show`). The rules of which
datasets a model can take come from core (builtin_fits), never from here.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QHBoxLayout,
                               QInputDialog, QLabel, QProgressBar, QPushButton, QScrollArea, QVBoxLayout, QWidget)

from app.devices import DEVICES, Device
from app.qt_sequence import SequenceWidget
from app.setup_model import Setup
from core.choices import DATASETS, TASKS

NO_DATA = "No data"
CHOOSE_NPZ = "Arrays (.npz)…"
CHOOSE_FOLDER = "Image folder…"
CHOOSE_CSV = "CSV…"
UNLABELLED = "(none: unlabelled)"
INPUT_RANGES = [(0.0, 1.0), (-1.0, 1.0), (0.0, 255.0)]
CHOOSE_NORM = "mean/std…"
CHOOSERS = {CHOOSE_FOLDER: None, CHOOSE_NPZ: "NumPy archives (*.npz)", CHOOSE_CSV: "CSV files (*.csv)"}


class SetupPanel(QWidget):
    runRequested = Signal()
    cancelRequested = Signal()
    exportRequested = Signal()
    dataChanged = Signal()  # the samples a run evaluates on may differ: read them again
    deviceChanged = Signal(object)  # core.devices.Device
    problem = Signal(str, str)  # (title, message) for the window's error dialog

    def __init__(self, setup: Setup, parent=None):
        super().__init__(parent)
        self.setup = setup
        self.loaded = None  # app.jobs.LoadedModel shown
        self.busy = False
        self.wanted_data = DATASETS[0]  # the dataset the user chose last
        self._showing = False  # writing the setup into the widgets: not an edit
        lv = QVBoxLayout(self)
        form = QFormLayout()
        self.model_label = QLabel("No model loaded. File › Open, or drop a model here.")
        self.model_label.setWordWrap(True)
        self.model_label.setMinimumHeight(44)  # two lines: name and summary
        form.addRow("Model", self.model_label)
        self._build_data(form)
        self._build_device(form)
        self.preset = QComboBox()
        self.preset.addItem("Presets…", None)
        from core.presets import PRESETS

        for p in PRESETS.values():
            self.preset.addItem(p.title, p.id)
            self.preset.setItemData(self.preset.count() - 1, p.description, Qt.ToolTipRole)
        self.preset.activated.connect(self._on_preset_activated)
        self.fit_button = QPushButton("Fit the device")
        self.fit_button.setToolTip("Switch on channel pruning to the device's budget: whole channels go, round by "
                                   "round, until the int8 model fits its flash and RAM (measured on TFLM), then int8.")
        self.fit_button.clicked.connect(self.fitDevice)
        row = QHBoxLayout()
        row.addWidget(self.preset, 1)
        row.addWidget(self.fit_button)
        form.addRow("Preset", row)
        lv.addLayout(form)
        self.sequence = SequenceWidget()
        self.sequence.sequenceChanged.connect(self._on_sequence_changed)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.sequence)
        lv.addWidget(scroll, 1)
        self.validation = QLabel()
        self.validation.setWordWrap(True)
        self.validation.setStyleSheet("color: #b00020")
        lv.addWidget(self.validation)
        buttons = QHBoxLayout()
        self.run_button = QPushButton("Run")
        self.run_button.clicked.connect(self.runRequested.emit)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancelRequested.emit)
        self.export_button = QPushButton("Export…")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(self.exportRequested.emit)
        for b in (self.run_button, self.cancel_button, self.export_button):
            buttons.addWidget(b)
        lv.addLayout(buttons)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.status = QLabel("Ready")
        self.status.setWordWrap(True)
        lv.addWidget(self.progress)
        lv.addWidget(self.status)
        self._on_device_activated(0)
        self._on_sequence_changed()

    def _build_data(self, form) -> None:
        self.dataset = QComboBox()
        self.dataset.addItems([*DATASETS, NO_DATA, *CHOOSERS])
        self.dataset.activated.connect(self._on_dataset_activated)
        self.dataset.currentIndexChanged.connect(self._read)
        form.addRow("Dataset", self.dataset)
        self.calibration = QComboBox()
        self.calibration.addItem("from the data", "data")
        self.calibration.addItem("synthetic inputs (accuracy unknown)", "synthetic")
        self.calibration.setToolTip("What integer quantization calibrates on when there is no data: inputs "
                                    "drawn from the input range. The variants then run, but their accuracy "
                                    "is unknown (marked in the table and the report).")
        self.calibration.activated.connect(
            lambda i: self.sequence.setParamEverywhere("calibration", self.calibration.itemData(i)))
        self.calibration_note = QLabel()
        self.calibration_note.setWordWrap(True)
        self.calibration_note.setStyleSheet("color: #8a5a00")
        box = QVBoxLayout()
        box.addWidget(self.calibration)
        box.addWidget(self.calibration_note)
        form.addRow("Calibration", box)
        self.input_range = QComboBox()
        self.input_range.setToolTip("What the model's inputs are scaled to. Detected from the model (a "
                                    "leading Rescaling(1/255) means 0..255) unless you choose one.")
        self.input_range.addItem("detected: 0..1", None)
        for low, high in INPUT_RANGES:
            self.input_range.addItem(f"{low:g}..{high:g}", [low, high])
        self.input_range.addItem(CHOOSE_NORM, None)
        self.input_range.activated.connect(self._on_input_range_activated)
        self.input_range.currentIndexChanged.connect(self._read)
        form.addRow("Input scaling", self.input_range)
        self.task = QComboBox()
        self.task.setToolTip("What the model does, which decides the figures: detected from the model and "
                             "the data (an autoencoder is anomaly detection) unless you choose.")
        self.task.addItem("detected", None)
        for t in TASKS:
            self.task.addItem(t, t)
        self.task.currentIndexChanged.connect(self._read)
        form.addRow("Task", self.task)

    def _build_device(self, form) -> None:
        self.device = QComboBox()
        for d in DEVICES:
            self.device.addItem(d.name, d)
        self.device.addItem("Custom…", None)
        self.device.activated.connect(self._on_device_activated)
        form.addRow("Device", self.device)
        self.on_target = QCheckBox("Measure on the emulated core")
        self.on_target.setToolTip("Runs every TFLM-runnable variant on the device's CPU emulated by QEMU, with "
                                  "TFLM built by arm-none-eabi-gcc: exact instructions per inference and per "
                                  "operator, the arena on the target. The first run builds TFLM (minutes).")
        self.on_target.setChecked(True)
        self.on_target.toggled.connect(self._read)
        self.kernels = QComboBox()
        self.kernels.addItem("CMSIS-NN kernels", "cmsis-nn")
        self.kernels.addItem("reference kernels", "reference")
        self.kernels.currentIndexChanged.connect(self._read)
        self.target_label = QLabel()
        self.target_label.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.on_target)
        row.addWidget(self.kernels)
        box = QVBoxLayout()
        box.addLayout(row)
        box.addWidget(self.target_label)
        form.addRow("Target", box)
        self.latency = QDoubleSpinBox()
        self.latency.setRange(0.0, 100_000.0)
        self.latency.setDecimals(2)
        self.latency.setSuffix(" ms")
        self.latency.setSpecialValueText("none")
        self.latency.setToolTip("Fit the device: the longest one inference may take on the device's clock. "
                                "Needs an emulated core; counted as instructions at one per cycle (an estimate: "
                                "the Target tab shows the timing model's).")
        form.addRow("Latency budget", self.latency)

    # ---------------------------------------------------------------- widgets -> setup
    def _read(self, *_) -> None:
        """Every widget's value into the setup (after any edit)."""
        if self._showing:
            return
        s = self.setup
        text = self.dataset.currentText()
        if text not in CHOOSERS:
            s.data = None if text == NO_DATA else text
        scaling = self.input_range.currentData()
        s.input_range = list(scaling) if isinstance(scaling, list) else None
        s.input_norm = scaling if isinstance(scaling, dict) else None
        s.task = self.task.currentData()
        s.device = self.device.currentData() or s.device
        usable = self.on_target.isEnabled() and self.on_target.isChecked()
        s.target = s.device.target if s.device is not None and s.device.target and usable else "none"
        s.kernels = self.kernels.currentData()
        s.steps = self.sequence.recipeSteps()

    def currentData(self) -> str | None:
        return self.setup.data

    # ---------------------------------------------------------------- setup -> widgets
    def show_setup(self) -> None:
        """Write the setup into the widgets (an opened recipe, a run's record)."""
        s = self.setup
        self._showing = True
        try:
            self.sequence.setRecipeSteps(s.steps)
            self._show_target(s)
            data = NO_DATA if s.data is None else s.data
            if self.dataset.findText(data) < 0:
                self.dataset.insertItem(0, data)
            self.dataset.setCurrentText(data)
            self.wanted_data = data
            chosen = s.input_range
            if chosen is not None and self.input_range.findData(list(chosen)) < 0:
                self.input_range.insertItem(self.input_range.findText(CHOOSE_NORM), f"{chosen[0]:g}..{chosen[1]:g}",
                                            list(chosen))
            self.input_range.setCurrentIndex(0 if chosen is None else self.input_range.findData(list(chosen)))
            if s.input_norm is not None:
                self._select_norm(s.input_norm)
            self.task.setCurrentIndex(max(0, self.task.findData(s.task)) if s.task else 0)
        finally:
            self._showing = False
        self._read()
        self._on_sequence_changed()

    def _show_target(self, s: Setup) -> None:
        """Select a device for the target (the one with its clock if any), and the kernels."""
        self.kernels.setCurrentIndex(max(0, self.kernels.findData(s.kernels)))
        npu = s.base.npu if s.base.npu != "none" else ""
        if s.target == "none" and not npu:
            self.on_target.setChecked(False)
            return
        rows = [i for i in range(self.device.count()) if self.device.itemData(i) is not None
                and (self.device.itemData(i).target or "none") == s.target and self.device.itemData(i).npu == npu]
        exact = [i for i in rows if self.device.itemData(i).clock_mhz == s.base.clock_mhz
                 and self.device.itemData(i).npu_clock_mhz == s.base.npu_clock_mhz]
        if rows:
            self.device.setCurrentIndex((exact or rows)[0])
            self._on_device_activated(self.device.currentIndex())
        self.on_target.setChecked(s.target != "none")

    def modelLoaded(self, loaded) -> None:
        """A model is shown: its summary, layers, detected range, and the datasets it can take."""
        self.loaded = loaded
        self.setup.loaded(loaded.path, bool(loaded.trust_model_code))
        name = "reference CNN" if loaded.path == "reference" else Path(loaded.path).name
        self.model_label.setText(f"{name}: {loaded.summary}")
        self.sequence.setLayers(loaded.layers or [])
        self.sequence.blockTraining(loaded.training_block)
        low, high = loaded.value_range or (0.0, 1.0)
        self.input_range.setItemText(0, f"detected: {low:g}..{high:g}")
        self._fit_builtin_sets(loaded.input_shape)
        self.task.setItemText(0, "detected")
        self._on_sequence_changed()

    def showDetectedTask(self, task: str | None) -> None:
        if task and self.task.currentData() is None:
            self.task.setItemText(0, f"detected: {task}")

    # ---------------------------------------------------------------- data
    def _on_dataset_activated(self, index):
        text = self.dataset.itemText(index)
        if text in CHOOSERS:
            if CHOOSERS[text]:
                path, _ = QFileDialog.getOpenFileName(self, "Dataset", "", CHOOSERS[text])
            else:
                path = QFileDialog.getExistingDirectory(self, "Image folder: one subfolder per class")
            if path and path.lower().endswith(".csv") and not self._ask_label_column(path):
                path = None
            self.chooseData(path or None)
        else:
            self.wanted_data = text  # the user's choice, restored when a later model fits it again
        self._read()
        self._on_sequence_changed()
        self.dataChanged.emit()

    def _ask_label_column(self, path: str) -> bool:
        """Which column of the CSV is the label (or none: unlabelled); False when cancelled."""
        from core.data.csv_file import columns
        from core.errors import TinyOptError

        try:
            header, default = columns(path)
        except TinyOptError as exc:
            self.problem.emit("Dataset", str(exc))
            return False
        choices = header if default is not None else [UNLABELLED, *header]
        column, ok = QInputDialog.getItem(self, "Label column", f"{Path(path).name}: the column that holds "
                                          "the label (the others are the sample)", choices,
                                          choices.index(default) if default in choices else 0, False)
        if ok:
            self.setup.label_column = None if column in (UNLABELLED, default) else column
        return ok

    def chooseData(self, path: str | None) -> None:
        """Select a dataset file or folder (None: back to the first usable choice)."""
        if path:
            if self.dataset.findText(path) < 0:
                self.dataset.insertItem(self.dataset.findText(NO_DATA), path)
            self.dataset.setCurrentText(path)
            self.wanted_data = path
        else:
            self._select_usable_data()
        self._read()

    def _fit_builtin_sets(self, input_shape) -> None:
        """Grey out the built-in sets that are not the model's input, with the reason."""
        from core.data import builtin_fits
        from core.errors import DataError

        items = self.dataset.model()
        for name in DATASETS:
            row = self.dataset.findText(name)
            reason = ""
            if input_shape is not None:
                try:
                    builtin_fits(name, tuple(input_shape), "This model")
                except DataError as exc:
                    reason = str(exc)
            items.item(row).setEnabled(not reason)
            self.dataset.setItemData(row, reason or None, Qt.ToolTipRole)
        self._select_usable_data()

    def _select_usable_data(self) -> None:
        """The user's last choice when the model can use it, else the first built-in set that fits,
        else No data: never a set the model cannot take."""
        items = self.dataset.model()

        def usable(text):
            row = self.dataset.findText(text)
            return row >= 0 and items.item(row).isEnabled() and text not in CHOOSERS

        if usable(self.wanted_data):
            self.dataset.setCurrentText(self.wanted_data)
        elif not usable(self.dataset.currentText()) or self.dataset.currentText() in DATASETS:
            self.dataset.setCurrentText(next((n for n in DATASETS if usable(n)), NO_DATA))
        self._read()

    # ---------------------------------------------------------------- scaling
    def _on_input_range_activated(self, index):
        if self.input_range.itemText(index) == CHOOSE_NORM:
            text, ok = QInputDialog.getText(
                self, "Input normalization", "(x - mean) / std on 0..1 data: MEAN/STD, one value or one per "
                "channel\n(e.g. 0.5/0.25, or 0.485,0.456,0.406/0.229,0.224,0.225)")
            if not ok or not self.chooseNorm(text):
                self.input_range.setCurrentIndex(0)
        self._read()
        self._on_sequence_changed()
        self.dataChanged.emit()

    def chooseNorm(self, text: str) -> bool:
        """Select mean/std normalization from 'MEAN/STD' text; False (with a message) when invalid."""
        from core.errors import TinyOptError
        from core.recipe import parse_norm

        try:
            norm = parse_norm(text)
        except TinyOptError as exc:
            self.problem.emit("Input normalization", str(exc))
            return False
        self._select_norm(norm)
        self._read()
        return True

    def _select_norm(self, norm: dict) -> None:
        label = f"mean {','.join(f'{v:g}' for v in norm['mean'])} / std {','.join(f'{v:g}' for v in norm['std'])}"
        row = self.input_range.findText(label)
        if row < 0:
            row = self.input_range.findText(CHOOSE_NORM)
            self.input_range.insertItem(row, label, norm)
        self.input_range.setCurrentIndex(row)

    # ---------------------------------------------------------------- device
    def _on_device_activated(self, index):
        device = self.device.itemData(index)
        if device is None:
            ram, ok = QInputDialog.getInt(self, "Custom device", "RAM for the arena (KB)", 64, 1, 1 << 20)
            flash, ok2 = QInputDialog.getInt(self, "Custom device", "Flash for the model (KB)", 512, 1, 1 << 22) \
                if ok else (0, False)
            if not (ok and ok2):
                self.device.setCurrentIndex(0)
                return self._on_device_activated(0)
            device = Device(f"Custom ({ram} KB RAM / {flash} KB flash)", ram * 1024, flash * 1024)
            self.device.insertItem(index, device.name, device)
            self.device.setCurrentIndex(index)
        from core.target import toolchain

        usable = device.target is not None and toolchain.available()
        self.target_label.setText(device.target_text + ("" if usable or device.target is None else
                                  f" — needs the Arm toolchain and QEMU: sudo apt-get install {toolchain.PACKAGES}"))
        self.on_target.setEnabled(usable)
        self.kernels.setEnabled(usable)
        self.setup.device = device
        self.setup.footprint_target = device.stand_in or "none"  # a device without an emulated core
        self._read()
        self.deviceChanged.emit(device)

    # ---------------------------------------------------------------- sequence
    def _on_preset_activated(self, index):
        preset_id = self.preset.itemData(index)
        if preset_id:
            from core.presets import PRESETS

            self.sequence.setRecipeSteps(PRESETS[preset_id].steps)

    def fitDevice(self) -> None:
        """Channel pruning to the chosen device's flash and RAM, then int8 (the other steps stay)."""
        d = self.setup.device
        steps = {st["name"]: st for st in self.sequence.recipeSteps()}
        params = dict(steps.get("channels", {}).get("params", {}), flash_budget=int(d.flash), arena_budget=int(d.ram))
        ms, latency = self.latency.value(), ""
        params["instructions_budget"] = 0  # the budgets are the device's: no latency unless one is set
        whole = bool(d.target) and self.setup.target != "none"  # the firmware's totals, measured there
        params["budget_of"] = "firmware" if whole else "model"
        if ms > 0 and d.target and d.clock_mhz and self.setup.target != "none":
            params["instructions_budget"] = max(1000, int(ms * d.clock_mhz * 1000))  # one instruction per cycle
            latency = (f", and {params['instructions_budget']:,} instructions ({ms:g} ms at {d.clock_mhz} MHz, one "
                       "instruction per cycle: an estimate)")
        elif ms > 0:
            latency = "; the latency budget needs an emulated core for this device, so it is not used"
        steps["channels"] = {"name": "channels", "params": params}
        steps.setdefault("quantize", {"name": "quantize", "params": {"modes": ["int8"]}})
        steps.setdefault("strip", {"name": "strip", "params": {}})  # the budget counts the stripped file
        self.sequence.setRecipeSteps(list(steps.values()))
        what = (f"the int8 firmware fits {d.flash:,} B of flash (model + TFLM code) and {d.ram:,} B of RAM (arena + "
                "TFLM's own + stack)" if whole else f"the int8 model fits {d.flash:,} B of flash and a {d.ram:,} B arena "
                "(no emulated core: the TFLM code and runtime RAM are not counted)")
        self.status.setText(f"Channel pruning will cut until {what} ({d.name}){latency}: press Run.")

    def _show_calibration(self) -> None:
        """The panel's calibration mirrors the quantize step's; it matters only without data."""
        value = self.sequence.paramValue("calibration") or "data"
        self.calibration.setCurrentIndex(max(0, self.calibration.findData(value)))
        no_data = self.currentData() is None
        self.calibration.setEnabled(no_data)
        self.calibration_note.setVisible(no_data)
        self.calibration_note.setText(
            "Integer variants are calibrated on inputs drawn from the input range: they run, but their "
            "accuracy is unknown." if value == "synthetic" else
            "Without data, integer quantization (int8, full-int, 16x8) needs synthetic calibration.")

    def _on_sequence_changed(self):
        from core.errors import TinyOptError
        from core.sequence import Sequence

        self._read()
        self._show_calibration()
        problem = ""
        try:
            if not self.setup.steps:
                problem = "Switch on at least one step."
            else:
                sequence = Sequence.from_dicts(self.setup.steps)
                sequence.validate(self.loaded.kind if self.loaded else "keras")
                blocked = self.loaded.training_block if self.loaded else ""
                trains = [s.title for s in sequence if s.takes == s.gives == "keras"]
                if blocked and trains:
                    problem = f"{trains[0]} cannot change this model: {blocked}."
        except TinyOptError as exc:
            problem = str(exc)
        self.validation.setText(problem)
        self.run_button.setEnabled(not problem and self.loaded is not None and not self.busy)

    # ---------------------------------------------------------------- running
    def setBusy(self, busy: bool, text: str) -> None:
        self.busy = busy
        self.run_button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)
        self.status.setText(text)
        self.progress.setRange(0, 0 if busy else 1000)
        if not busy:
            self.progress.setValue(0)
            self._on_sequence_changed()

    def showProgress(self, text: str, fraction) -> None:
        if fraction is None:
            self.progress.setRange(0, 0)
        else:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(fraction * 1000))
        self.status.setText(text)
