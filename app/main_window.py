"""The main window: load a model, choose data, device and sequence, run in the background, compare."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QIcon, QKeySequence
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QInputDialog, QLabel,
                               QMainWindow, QMessageBox, QPlainTextEdit, QProgressBar, QPushButton,
                               QScrollArea, QSplitter, QTabWidget, QVBoxLayout, QWidget)

from app import jobs, recent_files
from app.devices import DEVICES, Device
from app.qt_confusion import ConfusionWidget
from app.qt_explore import ExploreWidget
from app.qt_graph import GraphWidget
from app.qt_memory import MemoryWidget
from app.qt_preview import PreviewWidget
from app.qt_results import ResultsWidget
from app.qt_sequence import SequenceWidget
from app.qt_target import TargetWidget
from app.setting_names import WINDOW_NAMES
from app.worker import Engine, Job

APP_NAME = "TinyOpt Studio"
DATASETS = ["mnist-5k", "digits", "mnist", "fashion-mnist"]
NO_DATA = "No data"
CHOOSE_NPZ = "Arrays (.npz)…"
CHOOSE_FOLDER = "Image folder…"
CHOOSE_CSV = "CSV…"
UNLABELLED = "(none: unlabelled)"
INPUT_RANGES = [(0.0, 1.0), (-1.0, 1.0), (0.0, 255.0)]
CHOOSE_NORM = "mean/std…"
TASKS = ("classification", "anomaly", "regression")
CHOOSERS = {CHOOSE_FOLDER: None, CHOOSE_NPZ: "NumPy archives (*.npz)", CHOOSE_CSV: "CSV files (*.csv)"}
MODEL_FILTER = "Models (*.h5 *.keras *.tflite);;All files (*)"
RESOURCES = Path(__file__).resolve().parent.parent / "resources"


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None):
        super().__init__()
        self.settings = settings or QSettings("TinyOpt", APP_NAME)
        self.loaded = None  # jobs.LoadedModel
        self.payloads = []  # jobs.VariantPayload, original first
        self.job = None
        self.engine = Engine()  # one process for every job of this window; started on first use
        self.error_box = None
        self.last_error = ""
        self.recipe = None
        self.base_recipe = None  # the last recipe opened
        self.wanted_data = DATASETS[0]  # the dataset the user chose last
        self.label_column = None  # a CSV's label column, when not the one detected
        self._step_started = {}
        self.busy = False
        self.searching = False  # the running job is a search: Cancel stops it after its running trial
        self._retiring = []  # ended jobs whose thread had not stopped yet when the next one started
        self.setWindowTitle(APP_NAME)
        icon = RESOURCES / "icons" / "tinyopt.svg"
        if icon.exists():
            self.setWindowIcon(QIcon(str(icon)))
        self.setAcceptDrops(True)
        self._build_menu()
        self._build_ui()
        saved_tree = self.settings.value("tflm_tree", "")
        if saved_tree:
            import os

            from core.target.tree import ENV

            os.environ.setdefault(ENV, str(saved_tree))
        self._on_sequence_changed()

    # ---------------------------------------------------------------- layout
    def _build_menu(self):
        m = self.menuBar().addMenu("&File")
        self.open_action = QAction("&Open model…", self, shortcut=QKeySequence.Open, triggered=self._on_open)
        m.addAction(self.open_action)
        self.recent_menu = m.addMenu("Open &recent")
        self._fill_recent()
        m.addAction(QAction("Load the &reference CNN", self, triggered=lambda: self.loadReference()))
        m.addAction(QAction("TFLM &source tree for targets…", self, triggered=self._on_choose_tree))
        m.addSeparator()
        m.addAction(QAction("Open r&ecipe…", self, triggered=self._on_open_recipe))
        m.addAction(QAction("&Save recipe…", self, shortcut=QKeySequence.Save, triggered=self._on_save_recipe))
        m.addSeparator()
        self.export_action = QAction("&Export selected variant…", self, triggered=self._on_export)
        self.export_action.setEnabled(False)
        m.addAction(self.export_action)
        m.addSeparator()
        m.addAction(QAction("&Quit", self, shortcut=QKeySequence.Quit, triggered=self.close))

    def _build_ui(self):
        left = QWidget()
        lv = QVBoxLayout(left)
        form = QFormLayout()
        self.model_label = QLabel("No model loaded. File › Open, or drop a model here.")
        self.model_label.setWordWrap(True)
        self.model_label.setMinimumHeight(44)  # two lines: name and summary
        form.addRow("Model", self.model_label)
        self.dataset = QComboBox()
        self.dataset.addItems(DATASETS + [NO_DATA, *CHOOSERS])
        self.dataset.activated.connect(self._on_dataset_activated)
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
        form.addRow("Input scaling", self.input_range)
        self.task = QComboBox()
        self.task.setToolTip("What the model does, which decides the figures: detected from the model and "
                             "the data (an autoencoder is anomaly detection) unless you choose.")
        self.task.addItem("detected", None)
        for t in TASKS:
            self.task.addItem(t, t)
        form.addRow("Task", self.task)
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
        self.kernels = QComboBox()
        self.kernels.addItem("CMSIS-NN kernels", "cmsis-nn")
        self.kernels.addItem("reference kernels", "reference")
        self.target_label = QLabel()
        self.target_label.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.on_target)
        row.addWidget(self.kernels)
        box = QVBoxLayout()
        box.addLayout(row)
        box.addWidget(self.target_label)
        form.addRow("Target", box)
        self.preset = QComboBox()
        self.preset.addItem("Presets…", None)
        from core.presets import PRESETS

        for p in PRESETS.values():
            self.preset.addItem(p.title, p.id)
            self.preset.setItemData(self.preset.count() - 1, p.description, Qt.ToolTipRole)
        self.preset.activated.connect(self._on_preset_activated)
        form.addRow("Preset", self.preset)
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
        self.run_button.clicked.connect(self._on_run_clicked)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self._on_cancel_clicked)
        self.export_button = QPushButton("Export…")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(self._on_export)
        for b in (self.run_button, self.cancel_button, self.export_button):
            buttons.addWidget(b)
        lv.addLayout(buttons)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.status = QLabel("Ready")
        self.status.setWordWrap(True)
        lv.addWidget(self.progress)
        lv.addWidget(self.status)

        self.results = ResultsWidget()
        self.results.variantSelected.connect(self._on_variant_selected)
        self.memory = MemoryWidget()
        self.graph = GraphWidget()
        self.confusion = ConfusionWidget()
        self.preview = PreviewWidget()
        self.target_view = TargetWidget()
        self.explore = ExploreWidget()
        self.explore.searchRequested.connect(self._on_search_requested)
        self.explore.trialChosen.connect(self._on_trial_chosen)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.memory, "Memory")
        self.tabs.addTab(self.preview, "Data")
        self.tabs.addTab(self.target_view, "Target")
        self.tabs.addTab(self.explore, "Explore")
        self.tabs.addTab(self.graph, "Graph")
        self.tabs.addTab(self.confusion, "Classes")
        self.tabs.addTab(self.log, "Log")
        right = QSplitter(Qt.Vertical)
        right.addWidget(self.results)
        right.addWidget(self.tabs)
        right.setSizes([260, 640])
        split = QSplitter()
        split.addWidget(left)
        split.addWidget(right)
        split.setSizes([430, 1100])
        self.setCentralWidget(split)
        self._on_device_activated(0)
        self.resize(1500, 950)

    # ---------------------------------------------------------------- loading
    def openModel(self, path: str, trust_model_code: bool = False) -> None:
        self._start(jobs.load, self._on_loaded, f"Loading {Path(path).name}", path, trust_model_code)

    def loadReference(self) -> None:
        self._start(jobs.load, self._on_loaded, "Loading the reference CNN (trained on first use)", None)

    def _on_open(self):
        path, _ = QFileDialog.getOpenFileName(self, "Open model", self.settings.value("last_dir", ""), MODEL_FILTER)
        if path:
            self.openModel(path)

    def _on_loaded(self, loaded):
        self.loaded = loaded
        self.payloads = []
        self.results.clearVariants()
        name = "reference CNN" if loaded.path == "reference" else Path(loaded.path).name
        self.setWindowTitle(f"{APP_NAME} — {name}")
        self.model_label.setText(f"{name}: {loaded.summary}")
        self.memory.setReports(loaded.memory, None, ("original", ""))
        self.sequence.setLayers(loaded.layers or [])
        low, high = loaded.value_range or (0.0, 1.0)
        self.input_range.setItemText(0, f"detected: {low:g}..{high:g}")
        self._fit_builtin_sets(loaded.input_shape)
        self.task.setItemText(0, "detected")
        self.graph.showOriginal(loaded.display_bytes, loaded.display_name, f"original: {name}")
        if loaded.path != "reference":
            self._remember(loaded.path)
        self._on_sequence_changed()
        self.refreshPreview()

    def _remember(self, path: str):
        recent_files.remember(self.settings, path)
        self.settings.setValue("last_dir", str(Path(path).parent))
        self._fill_recent()

    def _fill_recent(self):
        self.recent_menu.clear()
        paths = recent_files.read(self.settings)
        for p in paths:
            action = self.recent_menu.addAction(p, lambda p=p: self._open_recent(p))
            if not Path(p).exists():
                action.setText(f"{p}  (not found)")
                action.setToolTip("The file was moved or deleted; choosing it removes it from this list.")
        if paths:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear this list", self._clear_recent)
        self.recent_menu.setEnabled(bool(paths))

    def _open_recent(self, path: str):
        if not Path(path).exists():
            recent_files.forget(self.settings, path)
            self._fill_recent()
            return self._error("Open recent", f"{path} no longer exists; it was removed from the recent list.")
        self.openModel(path)

    def _clear_recent(self):
        recent_files.forget(self.settings)
        self._fill_recent()

    def dragEnterEvent(self, event):
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event):
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.openModel(urls[0])

    # ---------------------------------------------------------------- choices
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
        self._on_sequence_changed()
        self.refreshPreview()

    def _ask_label_column(self, path: str) -> bool:
        """Which column of the CSV is the label (or none: unlabelled); False when cancelled."""
        from core.data.csv_file import columns
        from core.errors import TinyOptError

        try:
            header, default = columns(path)
        except TinyOptError as exc:
            self._error("Dataset", str(exc))
            return False
        choices = header if default is not None else [UNLABELLED, *header]
        column, ok = QInputDialog.getItem(self, "Label column", f"{Path(path).name}: the column that holds "
                                          "the label (the others are the sample)", choices,
                                          choices.index(default) if default in choices else 0, False)
        if ok:
            self.label_column = None if column in (UNLABELLED, default) else column
        return ok

    def _on_input_range_activated(self, index):
        if self.input_range.itemText(index) == CHOOSE_NORM:
            text, ok = QInputDialog.getText(
                self, "Input normalization", "(x - mean) / std on 0..1 data: MEAN/STD, one value or one per "
                "channel\n(e.g. 0.5/0.25, or 0.485,0.456,0.406/0.229,0.224,0.225)")
            if not ok or not self.chooseNorm(text):
                self.input_range.setCurrentIndex(0)
        self._on_sequence_changed()
        self.refreshPreview()

    def chooseNorm(self, text: str) -> bool:
        """Select mean/std normalization from 'MEAN/STD' text; False (with a message) when invalid."""
        from core.errors import TinyOptError
        from core.recipe import parse_norm

        try:
            norm = parse_norm(text)
        except TinyOptError as exc:
            self._error("Input normalization", str(exc))
            return False
        self._select_norm(norm)
        return True

    def _select_norm(self, norm: dict) -> None:
        label = f"mean {','.join(f'{v:g}' for v in norm['mean'])} / std {','.join(f'{v:g}' for v in norm['std'])}"
        row = self.input_range.findText(label)
        if row < 0:
            row = self.input_range.findText(CHOOSE_NORM)
            self.input_range.insertItem(row, label, norm)
        self.input_range.setCurrentIndex(row)

    def refreshPreview(self) -> None:
        """Read the samples the next run evaluates on (quietly skipped while other work runs)."""
        # Deferred: called from a job's finished slot, the job's thread must first see its quit.
        QTimer.singleShot(0, self._start_preview)

    def _start_preview(self) -> None:
        if self.loaded is not None and not self.busy:
            self._start(jobs.preview, self.preview.setPreview, "Reading samples", self.currentRecipe().to_dict())

    def chooseData(self, path: str | None) -> None:
        """Select a dataset file or folder (None: back to the first usable choice)."""
        if path:
            if self.dataset.findText(path) < 0:
                self.dataset.insertItem(self.dataset.findText(NO_DATA), path)
            self.dataset.setCurrentText(path)
            self.wanted_data = path
        else:
            self._select_usable_data()

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
        self.results.setDevice(device)
        self.memory.setBudget(device.ram, device.name)
        self.explore.setDevice(device)
        from core.target import toolchain

        usable = device.target is not None and toolchain.available()
        self.target_label.setText(device.target_text + ("" if usable or device.target is None else
                                  f" — needs the Arm toolchain and QEMU: sudo apt-get install {toolchain.PACKAGES}"))
        self.on_target.setEnabled(usable)
        self.kernels.setEnabled(usable)

    def _on_preset_activated(self, index):
        preset_id = self.preset.itemData(index)
        if preset_id:
            from core.presets import PRESETS

            self.sequence.setRecipeSteps(PRESETS[preset_id].steps)

    def currentRecipe(self):
        """The recipe the window shows: fields it has no editor for (seed, latency runs, reference
        epochs) come from the last recipe opened, so opening and running or saving reproduces it."""
        import dataclasses

        from core.recipe import Recipe

        model = self.loaded.path if self.loaded else "reference"
        scaling = self.input_range.currentData()
        device = self.device.currentData()
        target = device.target if device is not None and device.target and self.on_target.isChecked() \
            and self.on_target.isEnabled() else "none"
        return dataclasses.replace(self.base_recipe or Recipe(), model=model, data=self.currentData(),
                                   target=target, kernels=self.kernels.currentData(),
                                   clock_mhz=device.clock_mhz if target != "none" else 0,
                                   steps=self.sequence.recipeSteps(), task=self.task.currentData(),
                                   label_column=self.label_column,
                                   input_range=scaling if isinstance(scaling, list) else None,
                                   input_norm=scaling if isinstance(scaling, dict) else None)

    def currentData(self) -> str | None:
        text = self.dataset.currentText()
        return None if text == NO_DATA else text

    def _show_calibration(self) -> None:
        """The setup panel's calibration mirrors the quantize step's; it matters only without data."""
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

        self._show_calibration()
        problem = ""
        steps = self.sequence.recipeSteps()
        try:
            if not steps:
                problem = "Switch on at least one step."
            else:
                kind = self.loaded.kind if self.loaded else "keras"
                Sequence.from_dicts(steps).validate(kind)
        except TinyOptError as exc:
            problem = str(exc)
        self.validation.setText(problem)
        self.run_button.setEnabled(not problem and self.loaded is not None and not self.busy)

    # ---------------------------------------------------------------- running
    def _start(self, fn, on_done, what: str, *args) -> bool:
        if self.busy:
            self._error("Busy", "Wait for the current work to finish, or cancel it.")
            return False
        if self.job is not None:  # its job has ended (we are not busy): release it once its thread has
            old = self.job
            if old.wait(5_000):
                old.deleteLater()
            else:  # deleting a QThread that still runs aborts the process
                self._retiring.append(old)
                old.threadFinished.connect(lambda o=old: (self._retiring.remove(o), o.deleteLater()))
        self.job = Job(self.engine, self)
        s = self.job.signals
        s.progressed.connect(self._on_progress)
        s.logged.connect(self._log)
        s.variantReady.connect(self._on_variant_ready)
        s.finished.connect(lambda result: self._on_job_finished(on_done, result))
        s.failed.connect(self._on_job_failed)
        self._set_busy(True, what)
        self._log(what)
        self.job.start(fn, *args)
        return True

    def _set_busy(self, busy: bool, text: str):
        self.busy = busy
        self.searching = self.searching and busy
        self.explore.setBusy(busy)
        self.run_button.setEnabled(not busy)
        self.open_action.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)
        self.status.setText(text)
        self.progress.setRange(0, 0 if busy else 1000)
        if not busy:
            self.progress.setValue(0)
            self._on_sequence_changed()

    def _on_run_clicked(self):
        if self.loaded is None:
            return
        self.recipe = self.currentRecipe()
        self.payloads = []
        self.results.clearVariants()
        self._step_started = {}
        self._start(jobs.run, self._on_run_finished, "Running " + " → ".join(s["name"] for s in self.recipe.steps),
                    self.recipe.to_dict(), bool(self.loaded.trust_model_code))

    def _on_cancel_clicked(self):
        if self.job is not None:
            self.job.cancel()
            self.status.setText("Stopping after the running trial; every finished trial is kept…" if self.searching
                                else "Cancelling after the current batch…")

    # ---------------------------------------------------------------- search (Explore tab)
    def _on_search_requested(self, request: dict) -> None:
        import dataclasses

        if self.loaded is None:
            return self._error("Search", "Load a model first.")
        recipe = self.currentRecipe()
        if "latency" not in request["objectives"] or recipe.target != "none":
            recipe = dataclasses.replace(recipe, latency_runs=0)  # host timing is needed for nothing else
        device = self.device.currentData()
        budget = (device.ram if device else None, device.flash if device else None, request["max_drop"])
        if self._start(jobs.search, self._on_search_finished, f"Searching: {request['trials']} trials",
                       recipe.to_dict(), request["trials"], request["objectives"], budget, request["out"],
                       request["epochs"], request["resume"], bool(self.loaded.trust_model_code)):
            self.searching = True
            self._drop_trial_rows()  # the engine keeps only this search's trials
            self.explore.start(request["trials"])
            self.tabs.setCurrentWidget(self.explore)

    def _drop_trial_rows(self) -> None:
        trials = {id(v) for v in self.explore.variants()}
        kept = [p for p in self.payloads if id(p) not in trials]
        if len(kept) != len(self.payloads):
            self.payloads = [] if len(kept) == 1 and kept[0] is self.explore.original else kept
            self.results.clearVariants()
            for p in self.payloads:
                self.results.addVariant(p)

    def _on_search_finished(self, result: dict) -> None:
        self.explore.finish(result)
        self.status.setText(("Search stopped" if result["cancelled"] else "Search done")
                            + f": {result['finished']} trials kept in {result['out']}.")

    def _on_trial_chosen(self, point) -> None:
        """A trial's variant joins the results table (after the original's row) for comparison and export."""
        names = [p.name for p in self.payloads]
        if point.variant.name in names:
            return self.results.selectIndex(names.index(point.variant.name))
        if not self.payloads and self.explore.original is not None:
            self.payloads.append(self.explore.original)
            self.results.addVariant(self.explore.original)
        self.payloads.append(point.variant)
        self.results.addVariant(point.variant)
        self.results.selectIndex(len(self.payloads) - 1)

    def _on_progress(self, p):
        now = time.monotonic()
        started = self._step_started.setdefault(p.step, now)
        if p.fraction is None:
            self.progress.setRange(0, 0)
            self.status.setText(f"{p.step}: {p.message}")
            return
        self.progress.setRange(0, 1000)
        self.progress.setValue(int(p.fraction * 1000))
        eta = ""
        if 0.02 < p.fraction < 1:
            eta = f" — about {(now - started) * (1 - p.fraction) / p.fraction:.0f} s left in this step"
        self.status.setText(f"{p.step}: {p.message}{eta}")

    def _on_variant_ready(self, payload):
        if isinstance(payload, jobs.TrialPayload):
            return self.explore.addTrial(payload)
        self.payloads.append(payload)
        self.results.addVariant(payload)
        self._log(f"variant ready: {payload.name}")

    def _on_run_finished(self, result):
        self.run_result = result
        if result.get("task") and self.task.currentData() is None:
            self.task.setItemText(0, f"detected: {result['task']}")
        self.preview.setPreview(result.get("preview"))
        selected = self.results.selectedIndex()
        if selected is not None:
            self._on_variant_selected(selected)  # its predictions beside the original's
        n = len(self.payloads)
        if result["cancelled"]:
            self.status.setText(f"Cancelled: kept {n} variant(s).")
        else:
            failures = "; ".join(f"{b}: {e}" for b, e in result["failures"])
            self.status.setText(f"Done: {n} variant(s)." + (f" Failed branches: {failures}" if failures else ""))

    def _on_job_finished(self, on_done, result):
        self._set_busy(False, "Ready")
        on_done(result)

    def _on_job_failed(self, message, trace, error=None):
        self._set_busy(False, "Ready")
        if trace:
            self._log(trace)
        self._log("error: " + message)
        from core.errors import UnsafeModelError

        if isinstance(error, UnsafeModelError) and error.path:
            return self._ask_trust(error)
        from core.errors import TinyOptError

        if isinstance(error, TinyOptError):  # the settings it names, as this window calls them
            message = error.render(WINDOW_NAMES)
        self._error("TinyOpt Studio", message)

    def _ask_trust(self, error):
        """Trust in model code is granted here, by the user, for this file only; never by a recipe."""
        layers = ", ".join(f"'{n}'" for n in error.layers)
        self.error_box = QMessageBox(
            QMessageBox.Warning, "Run code stored in the model?",
            f"{Path(error.path).name}: layer {layers} stores Python code that runs when the model is "
            f"loaded.\n\nLoad it only if you trust where this file came from:\n{error.path}",
            QMessageBox.Cancel, self)
        trust = self.error_box.addButton("Trust and load", QMessageBox.AcceptRole)
        self.error_box.setDefaultButton(QMessageBox.Cancel)
        self.last_error = str(error)
        self.error_box.buttonClicked.connect(
            lambda button: self.openModel(error.path, trust_model_code=True) if button is trust else None)
        self.error_box.open()

    # ---------------------------------------------------------------- views
    def _on_variant_selected(self, index):
        payload = self.payloads[index] if index < len(self.payloads) else None
        if payload is None:
            return
        original = self.payloads[0].memory if self.payloads and self.payloads[0].memory else \
            (self.loaded.memory if self.loaded else None)
        self.memory.setReports(original, payload.memory if index else None, ("original", payload.name))
        labels = (getattr(self, "run_result", None) or {}).get("labels") or []
        self.confusion.setMetrics(self.payloads[0].metrics, payload.metrics if index else None, labels,
                                  ("original", payload.name))
        self.preview.setPredictions(self.payloads[0].preview or [], (payload.preview or []) if index else [],
                                    ("original", payload.name))
        # The baseline on the target: the original when it ran there (a .tflite), else the first
        # variant that did (a Keras original runs on TFLM only as one of its conversions).
        baseline = next((p for p in self.payloads if p.metrics.target is not None), None)
        self.target_view.setPayloads(baseline if baseline is not payload else None, payload)
        self.export_button.setEnabled(payload.is_tflite)
        self.export_action.setEnabled(payload.is_tflite)
        if payload.is_tflite and index:
            self.graph.showVariant(payload.artifact.data, f"{payload.name}.tflite", f"variant: {payload.name}")

    def _on_export(self):
        from core.export import package_name

        index = self.results.selectedIndex()
        if index is None or not self.payloads[index].is_tflite:
            return
        from app.export_dialog import ExportDialog

        v = self.payloads[index]
        recipe = self.recipe or self.currentRecipe()
        target = recipe.target if recipe.target != "none" else None
        dialog = ExportDialog(v.name, package_name(v.artifact.source, v.name),
                              self.settings.value("export_dir", str(Path.cwd() / "out")), self, target=target)
        if dialog.exec() != ExportDialog.Accepted:
            return
        self.settings.setValue("export_dir", dialog.folder.text())
        self._start(jobs.export, self._on_exported, f"Exporting {v.name}", v.name, dialog.folder.text(),
                    dialog.prefix.text(), dialog.zip.isChecked(), dialog.overwrite.isChecked(), target,
                    recipe.kernels, dialog.verify.isChecked())

    def _on_exported(self, result):
        path, verified = result
        self.status.setText(f"Exported to {path}" + (f". {verified}" if verified else ""))
        if verified:
            self._log(verified)

    # ---------------------------------------------------------------- recipes
    def _on_save_recipe(self):
        path, _ = QFileDialog.getSaveFileName(self, "Save recipe", "recipe.json", "Recipes (*.json)")
        if path:
            self.currentRecipe().save(path)
            self._log(f"saved recipe {path}")

    def _on_open_recipe(self):
        from core.errors import TinyOptError
        from core.recipe import Recipe

        path, _ = QFileDialog.getOpenFileName(self, "Open recipe", "", "Recipes (*.json)")
        if not path:
            return
        try:
            recipe = Recipe.load(path)
        except TinyOptError as exc:
            return self._error("Recipe", str(exc))
        self.applyRecipe(recipe)

    def applyRecipe(self, recipe) -> None:
        self.base_recipe = recipe
        self.sequence.setRecipeSteps(recipe.steps)
        self._apply_target(recipe)
        data = NO_DATA if recipe.data is None else recipe.data
        if data not in [self.dataset.itemText(i) for i in range(self.dataset.count())]:
            self.dataset.insertItem(0, data)
        self.dataset.setCurrentText(data)
        self.wanted_data = data
        self.label_column = recipe.label_column
        chosen = recipe.input_range
        if chosen is not None and self.input_range.findData(list(chosen)) < 0:
            self.input_range.insertItem(self.input_range.findText(CHOOSE_NORM), f"{chosen[0]:g}..{chosen[1]:g}",
                                        list(chosen))
        self.input_range.setCurrentIndex(0 if chosen is None else self.input_range.findData(list(chosen)))
        if recipe.input_norm is not None:
            self._select_norm(recipe.input_norm)
        self.task.setCurrentIndex(max(0, self.task.findData(recipe.task)) if recipe.task else 0)
        if recipe.model != "reference" and (self.loaded is None or self.loaded.path != recipe.model):
            self.openModel(recipe.model)

    def _on_choose_tree(self):
        from core.target.tree import default_root

        folder = QFileDialog.getExistingDirectory(self, "TFLM source tree (made with create_tflm_tree.py)",
                                                  str(self.settings.value("tflm_tree", default_root() or "")))
        if folder:
            self.chooseTree(folder)

    def chooseTree(self, folder: str) -> bool:
        """Use the TFLM tree at `folder` for target builds (checked first; kept across sessions)."""
        import os

        from core.errors import TinyOptError
        from core.target.tree import ENV, locate

        try:
            tree = locate(folder)
        except TinyOptError as exc:
            self._error("TFLM source tree", str(exc))
            return False
        self.settings.setValue("tflm_tree", str(tree.root))
        os.environ[ENV] = str(tree.root)  # the engine process reads it: restart it if idle
        if not self.busy:
            self.engine.stop(timeout=2)
        self._log(f"TFLM tree for targets: {tree.root} (tflite-micro {tree.commit[:12]})")
        return True

    def _apply_target(self, recipe) -> None:
        """Select a device for the recipe's target (the one with its clock if any), and the kernels."""
        self.kernels.setCurrentIndex(max(0, self.kernels.findData(recipe.kernels)))
        if recipe.target == "none":
            self.on_target.setChecked(False)
            return
        rows = [i for i in range(self.device.count()) if self.device.itemData(i) is not None
                and self.device.itemData(i).target == recipe.target]
        exact = [i for i in rows if self.device.itemData(i).clock_mhz == recipe.clock_mhz]
        if rows:
            self.device.setCurrentIndex((exact or rows)[0])
            self._on_device_activated(self.device.currentIndex())
        self.on_target.setChecked(True)

    # ---------------------------------------------------------------- misc
    def _log(self, line: str):
        self.log.appendPlainText(line)

    def _error(self, title: str, text: str):
        self.last_error = text
        self.error_box = QMessageBox(QMessageBox.Critical, title, text, QMessageBox.Ok, self)
        self.error_box.open()  # window-modal, never blocks the event loop

    def shutdown(self):
        """Stop background work and the Netron servers; release the web pages."""
        if self.job is not None and self.job.isRunning():
            self.job.cancel()  # steps stop between batches; the converter may not: then it is killed
            self.job.wait(5_000)
        self.engine.stop(timeout=2)
        for job in [self.job, *self._retiring]:
            if job is not None:
                job.wait(10_000)  # its forwarder sees the engine gone and ends
        self.graph.stop()

    def closeEvent(self, event):
        self.shutdown()
        super().closeEvent(event)
