"""The Explore tab: a search over sequences and their parameters (core/search/run.py, run in the engine),
drawn while it runs.

One point per trial: flash or RAM against accuracy, coloured by the third objective; the device's
budget and the accuracy floor as lines; trials that break them grey; the Pareto front ringed and
joined, the best variant for the device a star. Hovering names a trial's sequence; a click hands its
variant to the results table, where it compares and exports like any other.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QGridLayout, QHBoxLayout,
                               QLabel, QLineEdit, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from core.search import Outcome, describe

AXIS = {"flash": "flash: model + TFLM code (model alone without a target)",
        "ram": "RAM: arena + TFLM runtime + stack (arena alone without a target)", "accuracy": "accuracy (fidelity without labels)",
        "latency": "latency (instructions on the core, else host ms)"}
GREY, FRONT_PEN = (170, 170, 170, 150), pg.mkPen((20, 20, 20), width=2)
# Outcomes that count towards the total (a failed trial is made up for by another)
COUNTED = (Outcome.COMPLETE, Outcome.INVALID, Outcome.RULED_OUT, Outcome.REFUSED, Outcome.UNMEASURED)


@dataclass
class Point:
    number: int
    values: dict
    feasible: bool
    violations: list
    steps: list
    variant: object = None  # app.jobs.VariantPayload, when this session ran the trial
    front: bool = False
    best: bool = False
    extra: dict = field(default_factory=dict)


def _fmt(objective: str, value) -> str:
    if value is None:
        return "—"
    if objective in ("flash", "ram"):
        return f"{value:,.0f} B"
    if objective == "accuracy":
        return f"{value:.4f}"
    return f"{value:,.0f} instr" if value > 1000 else f"{value:.3f} ms"


class ExploreWidget(QWidget):
    searchRequested = Signal(dict)  # trials, objectives, epochs, max_drop, out, resume
    trialChosen = Signal(object)  # Point whose variant the user wants in the results table

    def __init__(self, parent=None):
        super().__init__(parent)
        pg.setConfigOptions(antialias=True, background="w", foreground="k")
        layout = QVBoxLayout(self)
        grid = QGridLayout()
        self.trials = QSpinBox()
        self.trials.setRange(2, 1000)
        self.trials.setValue(20)
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 50)
        self.epochs.setToolTip("Fine-tuning epochs of the training components in every trial")
        self.max_drop = QDoubleSpinBox()
        self.max_drop.setRange(-0.1, 100)
        self.max_drop.setSingleStep(0.5)
        self.max_drop.setValue(1.0)
        self.max_drop.setSpecialValueText("no floor")
        self.max_drop.setToolTip("Accuracy floor: points below the original's a variant may lose and stay feasible")
        grid.addWidget(QLabel("Trials"), 0, 0)
        grid.addWidget(self.trials, 0, 1)
        grid.addWidget(QLabel("Epochs"), 0, 2)
        grid.addWidget(self.epochs, 0, 3)
        grid.addWidget(QLabel("Max drop (pt)"), 0, 4)
        grid.addWidget(self.max_drop, 0, 5)
        self.objective_boxes = {}
        row = QHBoxLayout()
        row.addWidget(QLabel("Objectives"))
        for name in ("flash", "ram", "accuracy", "latency"):
            box = QCheckBox(name if name != "ram" else "RAM")
            box.setChecked(name != "latency")
            box.toggled.connect(self._on_objectives_changed)
            self.objective_boxes[name] = box
            row.addWidget(box)
        row.addWidget(QLabel("  x axis"))
        self.x_axis = QComboBox()
        self.x_axis.activated.connect(lambda _: self._redraw())
        row.addWidget(self.x_axis)
        row.addStretch(1)
        grid.addLayout(row, 1, 0, 1, 6)
        self.folder = QLineEdit(str(Path.cwd() / "out" / "search"))
        self.folder.setToolTip("Trials, front.json and the study's SQLite file go here")
        browse = QPushButton("Folder…")
        browse.clicked.connect(self._on_browse)
        self.resume = QCheckBox("Resume")
        self.resume.setToolTip("Continue the search stored in this folder; its finished trials are kept")
        self.search_button = QPushButton("Search")
        self.search_button.clicked.connect(self._on_search)
        row = QHBoxLayout()
        for w in (QLabel("Folder"), self.folder, browse, self.resume, self.search_button):
            row.addWidget(w)
        grid.addLayout(row, 2, 0, 1, 6)
        layout.addLayout(grid)
        self.plot = pg.PlotWidget()
        self.plot.showGrid(x=True, y=True, alpha=0.3)
        self.plot.getAxis("left").setWidth(64)
        for axis in ("left", "bottom"):  # bytes and accuracy as they are, not "x0.001"
            self.plot.getAxis(axis).enableAutoSIPrefix(False)
        self.scatter = pg.ScatterPlotItem(hoverable=True, tip=self._tip, hoverPen=pg.mkPen("r", width=2))
        self.scatter.sigClicked.connect(self._on_clicked)
        self.scatter.sigHovered.connect(self._on_hovered)
        self.front_line = pg.PlotDataItem(pen=pg.mkPen((20, 20, 20), width=1, style=pg.QtCore.Qt.DashLine))
        self.budget_line = pg.InfiniteLine(angle=90, pen=pg.mkPen((200, 40, 40), width=1.5),
                                           label="budget", labelOpts={"position": 0.95, "color": (200, 40, 40)})
        self.floor_line = pg.InfiniteLine(angle=0, pen=pg.mkPen((200, 40, 40), width=1.5, style=pg.QtCore.Qt.DotLine),
                                          label="accuracy floor", labelOpts={"position": 0.1, "color": (200, 40, 40)})
        for item in (self.front_line, self.scatter):
            self.plot.addItem(item)
        for item in (self.budget_line, self.floor_line):  # the view fits the points, not a far budget
            self.plot.addItem(item, ignoreBounds=True)
        layout.addWidget(self.plot, 1)
        self.legend = QLabel()
        self.progress = QLabel("Search the sequences for this model: the Pareto front and the best variant for "
                               "the device. Every trial is kept in the folder.")
        self.hover = QLabel("")
        for label in (self.legend, self.progress, self.hover):
            label.setWordWrap(True)
            layout.addWidget(label)
        self.points: dict[int, Point] = {}
        self.device = None
        self.total = 0
        self.done = 0
        self.resumed = 0  # trials a resumed search had finished before
        self.started = None
        self.original_accuracy = None
        self.original = None  # the original's VariantPayload, from the first trial that made a variant
        self._on_objectives_changed()

    # ------------------------------------------------------------------ settings
    def objectives(self) -> list[str]:
        return [n for n, box in self.objective_boxes.items() if box.isChecked()]

    def request(self) -> dict:
        drop = self.max_drop.value()
        return {"trials": self.trials.value(), "objectives": self.objectives(), "epochs": self.epochs.value(),
                "max_drop": None if drop < 0 else drop, "out": self.folder.text(), "resume": self.resume.isChecked()}

    def setDevice(self, device) -> None:
        self.device = device
        self._redraw()

    def setBusy(self, busy: bool) -> None:
        self.search_button.setEnabled(not busy and len(self.objectives()) >= 2)

    def _on_objectives_changed(self, *_):
        chosen = self.objectives()
        current = self.x_axis.currentData()
        self.x_axis.clear()
        for name in chosen:
            if name != "accuracy":
                self.x_axis.addItem(AXIS[name].split(":")[0], name)
        index = self.x_axis.findData(current)
        self.x_axis.setCurrentIndex(max(index, 0))
        self.search_button.setEnabled(len(chosen) >= 2)
        self._redraw()

    def _on_browse(self):
        folder = QFileDialog.getExistingDirectory(self, "Search folder", self.folder.text())
        if folder:
            self.folder.setText(folder)

    def _on_search(self):
        if len(self.objectives()) >= 2:
            self.searchRequested.emit(self.request())

    # ------------------------------------------------------------------ a running search
    def start(self, total: int) -> None:
        self.points, self.total, self.done, self.resumed, self.started = {}, total, 0, 0, time.monotonic()
        self.original_accuracy = self.original = None
        self.progress.setText(f"0 of {total} trials: the first one loads the model and data.")
        self._redraw()

    def addTrial(self, payload) -> None:
        """A finished trial (app.jobs.TrialPayload) of the running search."""
        if payload.state in COUNTED:
            self.done += 1
            self.resumed += payload.earlier  # not timed by this run: left out of the estimate
        if payload.original is not None and self.original is None:
            self.original = payload.original
        if payload.original_accuracy is not None:
            self.original_accuracy = payload.original_accuracy
        if payload.state is Outcome.COMPLETE:
            self.points[payload.number] = Point(payload.number, payload.values, payload.feasible,
                                                payload.violations, payload.steps, payload.variant)
            self._mark_front()
        self._redraw()
        self._show_progress(f"trial {payload.number}: {payload.state.value}" + (f" ({payload.note})" if payload.note else ""))

    def finish(self, result: dict) -> None:
        """The search ended (done or stopped): every trial of the study, the front and the best."""
        for t in result.get("trials", []):
            if t["number"] not in self.points:  # finished in an earlier session (Resume)
                self.points[t["number"]] = Point(t["number"], t["values"], t["feasible"], t["violations"],
                                                 t.get("recipe", {}).get("steps", []))
        front = set(result.get("front", []))
        for p in self.points.values():
            p.front, p.best = p.number in front, p.number == result.get("best")
        self._redraw()
        best = self.points.get(result.get("best"))
        kept = f"{result.get('finished', 0)} trials finished"
        what = "Stopped after the running trial: " if result.get("cancelled") else "Done: "
        self.progress.setText(
            f"{what}{kept}, {len(front)} on the front, {result.get('invalid', 0)} invalid draws never run, "
            f"{result.get('ruled_out', 0)} ruled out before fine-tuning, {result.get('refused', 0)} refused by a "
            f"step, {result.get('unmeasured', 0)} not "
            f"measurable (no TFLM arena), {result.get('failed', 0)} failed. "
            + (f"Best for the device: trial {best.number} ({describe(best.steps)}). " if best else
               "No trial fits the budget and the accuracy floor. ")
            + f"Saved in {result.get('out', '')}.")

    def _mark_front(self) -> None:
        from core.search import SearchResult, TrialResult, mark_front

        trials = [TrialResult(p.number, p.values, p.feasible, p.violations, {}, "", "") for p in self.points.values()]
        mark_front(trials, self.objectives_of_points())
        best = SearchResult(trials).best_for_device()
        for t in trials:
            p = self.points[t.number]
            p.front, p.best = t.front, best is not None and t.number == best.number

    def objectives_of_points(self) -> list[str]:
        first = next(iter(self.points.values()), None)
        return list(first.values) if first else self.objectives()

    def variants(self) -> list:
        """The trials' variants this search made (app.jobs.VariantPayload)."""
        return [p.variant for p in self.points.values() if p.variant is not None]

    def _show_progress(self, last: str) -> None:
        best = next((p for p in self.points.values() if p.best), None)
        eta = ""
        timed = self.done - self.resumed
        if self.started and timed > 0 and self.done < self.total:
            left = (time.monotonic() - self.started) / timed * (self.total - self.done)
            eta = f" · about {left / 60:.0f} min left" if left >= 90 else f" · about {left:.0f} s left"
        text = f"{self.done} of {self.total} trials{eta} · last: {last}"
        if best is not None:
            text += (f"\nBest so far for the device: trial {best.number} ({describe(best.steps)}): "
                     + ", ".join(f"{o} {_fmt(o, v)}" for o, v in best.values.items()))
        self.progress.setText(text)

    # ------------------------------------------------------------------ drawing
    def axes(self) -> tuple[str | None, str | None, str | None]:
        names = self.objectives_of_points()
        x = self.x_axis.currentData() if self.x_axis.currentData() in names else next(
            (n for n in names if n != "accuracy"), None)
        y = "accuracy" if "accuracy" in names else next((n for n in names if n != x), None)
        colour = next((n for n in names if n not in (x, y)), None)
        return x, y, colour

    def _redraw(self) -> None:
        x, y, colour = self.axes()
        self.plot.setLabel("bottom", AXIS.get(x, ""))
        self.plot.setLabel("left", AXIS.get(y, ""))
        points = [p for p in self.points.values() if x in p.values and y in p.values]
        spots = []
        shades = self._shades(points, colour)
        for p in points:
            brush = shades.get(p.number) if p.feasible else GREY
            spots.append({"pos": (p.values[x], p.values[y]), "data": p.number, "brush": pg.mkBrush(brush),
                          "size": 16 if p.best else 12 if p.front else 9, "symbol": "star" if p.best else "o",
                          "pen": FRONT_PEN if p.front else pg.mkPen(None)})
        self.scatter.setData(spots)
        front = sorted((p for p in points if p.front), key=lambda p: p.values[x])
        self.front_line.setData([p.values[x] for p in front], [p.values[y] for p in front])
        budget = {"flash": getattr(self.device, "flash", None), "ram": getattr(self.device, "ram", None)}.get(x)
        self.budget_line.setVisible(budget is not None and bool(points))
        where = ""
        if budget is not None:
            self.budget_line.setValue(budget)
            self.budget_line.label.setFormat(f"{x} budget {budget // 1024} KB")
            if points and budget > max(p.values[x] for p in points) * 1.5:
                where = f"The {x} budget ({budget // 1024} KB) is far to the right: every point is within it. "
                self.plot.enableAutoRange()
        drop = self.max_drop.value()
        floor = None if self.original_accuracy is None or drop < 0 or y != "accuracy" else \
            self.original_accuracy - drop / 100
        self.floor_line.setVisible(floor is not None)
        if floor is not None:
            self.floor_line.setValue(floor)
        self.legend.setText(
            where + ("Colour: " + AXIS[colour].split(":")[0] + " (dark = small, yellow = large). " if colour else "")
            + "Grey: breaks the device budget or the accuracy floor. Ringed and joined: the Pareto front; "
              "star: the best variant for the device. Hover a point for its sequence; click it to compare "
              "and export it in the results table.")

    def _shades(self, points, colour) -> dict:
        feasible = [p for p in points if p.feasible]
        if not colour or not feasible:
            return {p.number: (66, 133, 244, 220) for p in feasible}
        values = np.array([p.values[colour] for p in feasible], dtype=float)
        span = values.max() - values.min()
        scaled = (values - values.min()) / span if span > 0 else np.full(len(values), 0.5)
        colours = pg.colormap.get("viridis").map(scaled, mode="byte")
        return {p.number: tuple(int(c) for c in colours[i]) for i, p in enumerate(feasible)}

    def _text(self, number: int) -> str:
        p = self.points[number]
        lines = [f"trial {number}: {describe(p.steps)}",
                 "  ".join(f"{o} {_fmt(o, v)}" for o, v in p.values.items())]
        if p.violations:
            lines.append("infeasible: " + "; ".join(p.violations))
        if p.front:
            lines.append("on the Pareto front" + (", best for the device" if p.best else ""))
        return "\n".join(lines)

    def _tip(self, x, y, data):
        return self._text(data) if data in self.points else ""

    def _on_hovered(self, item, points, ev):
        if len(points):
            self.hover.setText(self._text(points[0].data()).replace("\n", " · "))

    def _on_clicked(self, item, points, ev):
        if len(points):
            self.choose(points[0].data())

    def choose(self, number: int) -> None:
        p = self.points.get(number)
        if p is None:
            return
        if p.variant is None:
            self.hover.setText(f"Trial {number} ran in an earlier session: its .tflite and recipe are in "
                               f"{self.folder.text()}/trials/{number:04d}; open the recipe to run it again.")
            return
        self.trialChosen.emit(p)
