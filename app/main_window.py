"""The main window: the setup panel on the left (what the user set up: app/setup_model.py), the
variants and the views that compare them on the right, menus and recent files; engine jobs run
through the job runner (app/job_runner.py) and report back here."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QIcon, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMessageBox, QPlainTextEdit, QSplitter, QTabWidget

from app import jobs
from app.job_runner import JobRunner
from app.qt_confusion import ConfusionWidget
from app.qt_explore import ExploreWidget
from app.qt_graph import GraphWidget
from app.qt_memory import MemoryWidget
from app.qt_preview import PreviewWidget
from app.qt_results import ResultsWidget
from app.qt_target import TargetWidget
from app.recent_menu import RecentMenu
from app.setting_names import WINDOW_NAMES
from app.setup_model import Setup
from app.setup_panel import SetupPanel
from app.trust_dialog import ask_trust
from app.variants import CompareViews, Variants

APP_NAME = "TinyOpt Studio"
MODEL_FILTER = "Models (*.h5 *.keras *.tflite *.onnx);;All files (*)"
RESOURCES = Path(__file__).resolve().parent.parent / "resources"


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None):
        super().__init__()
        self.settings = settings or QSettings("TinyOpt", APP_NAME)
        self.loaded = None  # jobs.LoadedModel
        self.setup = Setup()
        self.variants = Variants()
        self.jobs = JobRunner(self)
        self.recipe = None  # the recipe of the last run
        self.run_result = {}
        self.error_box = None
        self.last_error = ""
        self.setWindowTitle(APP_NAME)
        icon = RESOURCES / "icons" / "tinyopt.svg"
        if icon.exists():
            self.setWindowIcon(QIcon(str(icon)))
        self.setAcceptDrops(True)
        self._build_menu()
        self._build_ui()
        self._wire_jobs()
        saved_tree = self.settings.value("tflm_tree", "")
        if saved_tree:
            import os

            from core.target.tree import ENV

            os.environ.setdefault(ENV, str(saved_tree))

    # ---------------------------------------------------------------- layout
    def _build_menu(self):
        m = self.menuBar().addMenu("&File")
        self.open_action = QAction("&Open model…", self, shortcut=QKeySequence.Open, triggered=self._on_open)
        m.addAction(self.open_action)
        self.recent_menu = m.addMenu("Open &recent")
        self.recent = RecentMenu(self.recent_menu, self.settings, self.openModel, self._error)
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
        self.results = ResultsWidget(self.variants)
        self.results.variantSelected.connect(self._on_variant_selected)
        self.memory = MemoryWidget()
        self.graph = GraphWidget()
        self.confusion = ConfusionWidget()
        self.preview = PreviewWidget()
        self.target_view = TargetWidget()
        self.views = CompareViews(self.memory, self.confusion, self.preview, self.target_view, self.graph)
        self.explore = ExploreWidget()
        self.explore.searchRequested.connect(self._on_search_requested)
        self.explore.trialChosen.connect(self._on_trial_chosen)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.tabs = QTabWidget()
        for widget, title in ((self.memory, "Memory"), (self.preview, "Data"), (self.target_view, "Target"),
                              (self.explore, "Explore"), (self.graph, "Graph"), (self.confusion, "Classes"),
                              (self.log, "Log")):
            self.tabs.addTab(widget, title)
        right = QSplitter(Qt.Vertical)
        right.addWidget(self.results)
        right.addWidget(self.tabs)
        right.setSizes([260, 640])
        self.panel = SetupPanel(self.setup)
        self.panel.runRequested.connect(self._on_run_clicked)
        self.panel.cancelRequested.connect(self._on_cancel_clicked)
        self.panel.exportRequested.connect(self._on_export)
        self.panel.dataChanged.connect(self.refreshPreview)
        self.panel.deviceChanged.connect(self._on_device_changed)
        self.panel.problem.connect(self._error)
        self._on_device_changed(self.setup.device)
        split = QSplitter()
        split.addWidget(self.panel)
        split.addWidget(right)
        split.setSizes([430, 1100])
        self.setCentralWidget(split)
        self.resize(1500, 950)

    def _wire_jobs(self):
        self.jobs.busyChanged.connect(self._on_busy_changed)
        self.jobs.progressed.connect(self.panel.showProgress)
        self.jobs.logged.connect(self._log)
        self.jobs.variantReady.connect(self._on_variant_ready)
        self.jobs.failed.connect(self._on_job_failed)

    # ---------------------------------------------------------------- state
    @property
    def busy(self) -> bool:
        return self.jobs.busy

    def currentRecipe(self):
        """The recipe the window shows (read from its setup)."""
        return self.setup.recipe()

    def _start(self, fn, on_done, what: str, *args) -> bool:
        if not self.jobs.start(fn, on_done, what, *args):
            self._error("Busy", "Wait for the current work to finish, or cancel it.")
            return False
        return True

    def _on_busy_changed(self, busy: bool, text: str) -> None:
        self.explore.setBusy(busy)
        self.open_action.setEnabled(not busy)
        self.panel.setBusy(busy, text)

    def _on_device_changed(self, device) -> None:
        self.results.setDevice(device)
        self.memory.setBudget(device.ram, device.name)
        self.explore.setDevice(device)

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
        self.results.clearVariants()
        name = "reference CNN" if loaded.path == "reference" else Path(loaded.path).name
        self.setWindowTitle(f"{APP_NAME} — {name}")
        self.panel.modelLoaded(loaded)
        self.memory.setReports(loaded.memory, None, ("original", ""))
        self.graph.showOriginal(loaded.display_bytes, loaded.display_name, f"original: {name}")
        if loaded.path != "reference":
            self.recent.remember(loaded.path)
        self.refreshPreview()

    def dragEnterEvent(self, event):
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event):
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.openModel(urls[0])

    def refreshPreview(self) -> None:
        """Read the samples the next run evaluates on (quietly skipped while other work runs)."""
        # Deferred: called from a job's finished slot, the job's thread must first see its quit.
        QTimer.singleShot(0, self._start_preview)

    def _start_preview(self) -> None:
        if self.loaded is not None and not self.busy:
            self.jobs.start(jobs.preview, self.preview.setPreview, "Reading samples", self.currentRecipe().to_dict())

    # ---------------------------------------------------------------- running
    def _on_run_clicked(self):
        if self.loaded is None:
            return
        self.recipe = self.currentRecipe()
        self.results.clearVariants()
        self._start(jobs.run, self._on_run_finished, "Running " + " → ".join(s["name"] for s in self.recipe.steps),
                    self.recipe.to_dict(), bool(self.loaded.trust_model_code))

    def _on_cancel_clicked(self):
        text = self.jobs.cancel()
        if text:
            self.panel.status.setText(text)

    def _on_variant_ready(self, payload):
        if isinstance(payload, jobs.TrialPayload):
            return self.explore.addTrial(payload)
        self.results.addVariant(payload)
        self._log(f"variant ready: {payload.name}")

    def _on_run_finished(self, result):
        self.run_result = result
        if result.get("recipe"):  # what the run recorded (the detected input range) joins the setup
            self.setup.ran(result["recipe"])
            self.recipe = self.currentRecipe()
        self.panel.showDetectedTask(result.get("task"))
        self.preview.setPreview(result.get("preview"))
        selected = self.results.selectedIndex()
        if selected is not None:
            self._on_variant_selected(selected)  # its predictions beside the original's
        n = len(self.variants)
        if result["cancelled"]:
            self.panel.status.setText(f"Cancelled: kept {n} variant(s).")
        else:
            failures = "; ".join(f"{b}: {e}" for b, e in result["failures"])
            self.panel.status.setText(f"Done: {n} variant(s)." + (f" Failed branches: {failures}" if failures else ""))

    def _on_job_failed(self, message, trace, error=None):
        if trace:
            self._log(trace)
        self._log("error: " + message)
        from core.errors import TinyOptError, UnsafeModelError

        if isinstance(error, UnsafeModelError) and error.path:
            self.last_error = str(error)
            self.error_box = ask_trust(self, error, lambda: self.openModel(error.path, trust_model_code=True))
            return
        if isinstance(error, TinyOptError):  # the settings it names, as this window calls them
            message = error.render(WINDOW_NAMES)
        self._error("TinyOpt Studio", message)

    # ---------------------------------------------------------------- search (Explore tab)
    def _on_search_requested(self, request: dict) -> None:
        if self.loaded is None:
            return self._error("Search", "Load a model first.")
        recipe = self.currentRecipe()
        if "latency" not in request["objectives"] or recipe.target != "none":
            recipe = dataclasses.replace(recipe, latency_runs=0)  # host timing is needed for nothing else
        device = self.setup.device
        budget = (device.ram if device else None, device.flash if device else None, request["max_drop"])
        if self._start(jobs.search, self._on_search_finished, f"Searching: {request['trials']} trials",
                       recipe.to_dict(), request["trials"], request["objectives"], budget, request["out"],
                       request["epochs"], request["resume"], bool(self.loaded.trust_model_code)):
            self.jobs.searching = True
            self._drop_trial_rows()  # the engine keeps only this search's trials
            self.explore.start(request["trials"])
            self.tabs.setCurrentWidget(self.explore)

    def _drop_trial_rows(self) -> None:
        trials = {id(v) for v in self.explore.variants()}
        if self.variants.keep(lambda p: id(p) not in trials):
            kept = list(self.variants) if len(self.variants) != 1 or self.variants[0] is not self.explore.original else []
            self.results.clearVariants()
            for p in kept:
                self.results.addVariant(p)

    def _on_search_finished(self, result: dict) -> None:
        self.explore.finish(result)
        self.panel.status.setText(("Search stopped" if result["cancelled"] else "Search done")
                                  + f": {result['finished']} trials kept in {result['out']}.")

    def _on_trial_chosen(self, point) -> None:
        """A trial's variant joins the results table (after the original's row) for comparison and export."""
        names = self.variants.names()
        if point.variant.name in names:
            return self.results.selectIndex(names.index(point.variant.name))
        if not len(self.variants) and self.explore.original is not None:
            self.results.addVariant(self.explore.original)
        self.results.addVariant(point.variant)
        self.results.selectIndex(len(self.variants) - 1)

    # ---------------------------------------------------------------- views
    def _on_variant_selected(self, index):
        if not 0 <= index < len(self.variants):
            return
        self.views.show(self.variants, index, self.loaded, self.run_result.get("labels") or [])
        exportable = self.variants[index].is_tflite
        self.panel.export_button.setEnabled(exportable)
        self.export_action.setEnabled(exportable)

    def _on_export(self):
        from app.export_dialog import ExportDialog
        from core.export import package_name

        index = self.results.selectedIndex()
        if index is None or not self.variants[index].is_tflite:
            return
        v = self.variants[index]
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
        from core.export.package import footprint_line

        firmware = footprint_line(path)
        self.panel.status.setText(" ".join(x for x in (f"Exported to {path}.", firmware, verified) if x))
        if verified:
            self._log(verified)

    # ---------------------------------------------------------------- recipes and the TFLM tree
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
        """Every field of `recipe` into the setup, shown by the panel; its model is opened."""
        shown = self.setup.model
        self.setup.apply(recipe)
        if self.loaded is not None and self.loaded.path != recipe.model:
            self.setup.model = shown  # until the recipe's model has loaded
        self.panel.show_setup()
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
            self._error("TFLM source tree", exc.render(WINDOW_NAMES))
            return False
        self.settings.setValue("tflm_tree", str(tree.root))
        os.environ[ENV] = str(tree.root)  # the engine process reads it: restart it if idle
        self.jobs.restartEngine()
        self._log(f"TFLM tree for targets: {tree.root} (tflite-micro {tree.commit[:12]})")
        return True

    # ---------------------------------------------------------------- misc
    def _log(self, line: str):
        self.log.appendPlainText(line)

    def _error(self, title: str, text: str):
        self.last_error = text
        self.error_box = QMessageBox(QMessageBox.Critical, title, text, QMessageBox.Ok, self)
        self.error_box.open()  # window-modal, never blocks the event loop

    def shutdown(self):
        """Stop background work and the Netron servers; release the web pages."""
        self.jobs.shutdown()
        self.graph.stop()

    def closeEvent(self, event):
        self.shutdown()
        super().closeEvent(event)
