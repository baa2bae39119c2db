"""`Session`: one working session of the engine, the same for the command line and the window.

It owns the loaded model, the dataset, the recipe with every field, the variants of the last run
(and of the last search) with their metrics, the target firmware it built, and the operations on
them: load, run (progress and cancel through the `Context`), evaluate, memory, search, measure on
a target, export, verify. The CLI (cli/commands.py) and the window's engine jobs (app/jobs.py) only
call it. Exporting a variant of a finished run never runs the recipe again. Trust in model code is
the user's run-time grant (`trust_model_code`), never a recipe field.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from core.artifact import Artifact
from core.errors import ExportError, LoadError
from core.recipe import REFERENCE, Recipe
from core.runner import RunResult, Variant, reference_model, reference_source, run_recipe
from core.steps.base import Context, Progress


class Session:
    def __init__(self, recipe: Recipe | None = None, *, trust_model_code: bool = False):
        self.recipe = recipe or Recipe()
        self.trust_model_code = trust_model_code
        self.original: Artifact | None = None
        self.result: RunResult | None = None
        self._labels: list = []  # class names, when the data came from a finished run's report
        # A search's trial variants (core/search/run.py), exportable like a run's: name -> (Variant,
        # the original's metrics, the trial's recipe)
        self.found: dict = {}
        self._firmware: dict = {}  # (target, kernels) -> core.target.build.Firmware, resolved once

    # ------------------------------------------------------------------ state
    @property
    def variants(self) -> list[Variant]:
        return self.result.variants if self.result else []

    @property
    def dataset(self):
        return self.result.dataset if self.result else None

    @property
    def labels(self) -> list:
        return list(getattr(self.dataset, "labels", None) or self._labels)

    def variant(self, name: str) -> Variant:
        every = [*self.variants, *(v for v, _, _ in self.found.values())]
        for v in every:
            if v.name == name:
                return v
        known = ", ".join(v.name for v in every) or "none: run the recipe first"
        raise ExportError(f"No variant '{name}' in this session; variants: {known}.")

    # ------------------------------------------------------------------ operations
    def load(self, model: str | None = None, ctx: Context | None = None) -> Artifact:
        """Load `model` (default: the recipe's) as the original; earlier variants are dropped."""
        from core.model.loading import load_model

        if model is not None:
            self.recipe = dataclasses.replace(self.recipe, model=str(model))
        ctx = ctx or Context(seed=self.recipe.seed)
        if self.recipe.model == REFERENCE:
            art = reference_model(self.recipe, ctx)
        else:
            art = load_model(self.recipe.model, trust_model_code=self.trust_model_code,
                             progress=lambda message: ctx.progress(Progress("load", message, None)))
        self.original, self.result, self.found = art, None, {}
        return art

    def run(self, ctx: Context | None = None, on_variant=lambda v: None, *, tflm: bool = True) -> RunResult:
        """Apply the recipe to the loaded model (loading it first if needed) and evaluate every variant."""
        original = self.original if self._loaded_matches() else None
        self.result = run_recipe(self.recipe, ctx, original=original, on_variant=on_variant, tflm=tflm,
                                 trust_model_code=self.trust_model_code)
        if self.result.variants:
            self.original = self.result.variants[0].artifact
        if self.recipe.input_range is None and self.recipe.input_norm is None and self.result.input_range is not None:
            # recorded, so the saved recipe reproduces the run even if detection changes later
            self.recipe = dataclasses.replace(self.recipe, input_range=list(self.result.input_range))
            self.result.recipe = self.recipe  # the report names the recipe that is saved
        return self.result

    def preview(self, ctx: Context | None = None):
        """The samples a run of the recipe would evaluate on (core.measure.preview.Preview), or None."""
        from core.runner import preview_of

        original = self.original if self._loaded_matches() else None
        return preview_of(self.recipe, ctx or Context(seed=self.recipe.seed), original,
                          trust_model_code=self.trust_model_code)

    def _loaded_matches(self) -> bool:
        if self.original is None:
            return False
        if self.recipe.model == REFERENCE:
            return self.original.source == reference_source(self.recipe)
        return str(Path(self.original.source)) == str(Path(self.recipe.model))

    def evaluate(self, artifact: Artifact | None = None, data: str | None = None):
        """Metrics of `artifact` (default: the loaded model), with accuracy on `data` when given."""
        from core.measure.evaluation import evaluate
        from core.runner import prepare

        artifact = artifact or self.original
        if artifact is None:
            raise LoadError("No model is loaded: load one first.")
        ds = None
        if data is not None:
            _, ds = prepare(dataclasses.replace(self.recipe, data=data), Context(), original=artifact)
        return evaluate(artifact, ds, latency_runs=self.recipe.latency_runs)

    def memory(self, artifact: Artifact | None = None):
        """(per-operator MemoryReport, note). Keras models are analysed as their float32 .tflite."""
        from core.analysis.memory import analyze_memory

        artifact = artifact or self.original
        if artifact.is_tflite:
            return analyze_memory(artifact.data, Path(artifact.source).name), ""
        from core.steps.quantize import convert

        try:
            data = convert(artifact.model, "float32")
        except Exception as exc:  # the converter may refuse a model that still runs in Keras
            return None, f"no per-layer memory ({str(exc).splitlines()[0][:120]})"
        return analyze_memory(data), "per-layer memory of its float32 .tflite"

    def export(self, name: str, out_dir, *, prefix: str = "g_model", make_zip: bool = False,
               overwrite: bool = False, progress=lambda msg: None, target: str | None = None,
               kernels: str = "cmsis-nn", npu=None) -> Path:
        """Write the TFLM package of variant `name` from this session's run (nothing is re-run).
        With `target` (e.g. "cortex-m55") its arena is the one measured on that emulated Cortex-M
        and its Makefile builds for that CPU. With `npu` (core.npu.configs.Npu) the package is for that
        Ethos-U: Vela's model, AddEthosU(), the driver (core/export/npu_package.py)."""
        from core.export import export_package

        if name in self.found:
            v, base, recipe = self.found[name]
        elif self.result is None and name == "original" and self.original is not None:
            v, base, recipe = Variant(self.original, None), None, None  # a model file, no run
        else:
            v, base, recipe = self.variant(name), self.variants[0].metrics, self.recipe
        if v.artifact is None or not v.artifact.is_tflite:
            raise ExportError(f"Variant '{name}' is a Keras model: export a converted (.tflite) variant, "
                              "e.g. its int8 quantization.")
        built = self.firmware(target, kernels, progress) if target else None
        return export_package(v.artifact, out_dir, prefix=prefix, make_zip=make_zip, overwrite=overwrite,
                              recipe=recipe, metrics=v.metrics, original_metrics=base, labels=self.labels,
                              progress=progress, target=built, npu=npu)

    def verify(self, package, target: str, kernels: str = "cmsis-nn", progress=lambda msg: None, *, npu=None):
        """Build an exported package with its own Makefile for `target`, run it in QEMU, compare
        with the host TFLM (core.export.verify.Verification). An NPU package (`npu`) is built and
        linked only (a message): nothing here runs the NPU."""
        from core.export.verify import verify_package

        built = self.firmware(target, kernels, progress)
        if npu is not None:
            from core.export.npu_package import verify_npu_package

            progress(f"building the NPU package for {target}")
            return verify_npu_package(package, built)
        progress(f"building the package for {target} and running it in QEMU")
        return verify_package(package, built)

    def firmware(self, target: str, kernels: str = "cmsis-nn", progress=lambda msg: None, *, cancel=None):
        """The TFLM firmware for emulated `target` (core.target.build.Firmware): built into the user's
        cache the first time (minutes), resolved once per session. `progress(text)` hears the build
        in tenths."""
        key = (target, kernels)
        if key not in self._firmware:
            from core.target.build import firmware
            from core.target.targets import get

            shown = {"tenth": -1}

            def every_tenth(fraction, text):  # a first build reports ~300 files: say it in tenths
                if int(fraction * 10) != shown["tenth"] or fraction >= 1:
                    shown["tenth"] = int(fraction * 10)
                    progress(f"{text} ({fraction * 100:.0f}%)")

            self._firmware[key] = firmware(get(target), kernels, progress=every_tenth, cancel=cancel)
        return self._firmware[key]

    def measure_on_target(self, target: str, kernels: str = "cmsis-nn", *, samples: int = 1, clock_mhz: int = 0,
                          progress=lambda msg: None):
        """The loaded .tflite run on the emulated core (core.target.measure.TargetRun): exact
        instructions per inference and per operator, the arena used there."""
        from core.target.measure import run, sample_inputs

        art = self.original or self.load()
        if not art.is_tflite:
            raise ExportError(f"{Path(art.source).name} is a Keras model: run a .tflite on the target "
                              "(convert it first, e.g. tinyopt run --steps quantize:int8).")
        result = run(art.data, sample_inputs(art.data, max(1, samples)), self.firmware(target, kernels, progress))
        if clock_mhz:
            result.clock_mhz = clock_mhz
        return result

    def footprint_on_target(self, target: str, kernels: str = "cmsis-nn", arena: int | None = None,
                            progress=lambda msg: None):
        """The loaded .tflite's whole firmware footprint there (core.target.footprint.Footprint)."""
        from core.target.footprint import measure

        art = self.original or self.load()
        return measure(art.data, self.firmware(target, kernels, progress), arena)

    def search(self, out_dir, *, on_variant=lambda name, number, run: None, **settings):
        """Run (or resume) a search from this session's recipe (core.search.search takes `settings`).
        Each trial's variant becomes exportable under a name unique in the session (`on_variant(name,
        number, run)` is told it); only the last search's are kept, so a long session does not grow."""
        from core.search import search

        self.found = {}

        def keep(number, run):
            v, name = run.variants[-1], f"trial-{number}-{run.variants[-1].name}"
            v = Variant(dataclasses.replace(v.artifact, name=name), dataclasses.replace(v.metrics, name=name),
                        v.preview)
            self.found[name] = (v, run.variants[0].metrics, run.recipe)
            on_variant(name, number, run)

        return search(self.recipe, out_dir, trust_model_code=self.trust_model_code, on_variant=keep, **settings)

    # ------------------------------------------------------------------ run folders (CLI)
    def write_run(self, out_dir) -> Path:
        """recipe.json and report.json beside the variant files written during the run."""
        from core.report import write_report

        out = Path(out_dir)
        self.recipe.save(out / "recipe.json")
        write_report(self.result, out / "report.json")
        return out

    @staticmethod
    def variant_file(out_dir, variant: Variant) -> Path:
        return Path(out_dir) / f"{variant.name}{'.tflite' if variant.artifact.is_tflite else '.h5'}"

    @classmethod
    def from_run(cls, run_dir) -> "Session":
        """A session holding the .tflite variants of a finished `tinyopt run` (its folder)."""
        from core.measure.evaluation import Metrics
        from core.measure.fidelity import Fidelity
        from core.model.loading import tflite_artifact
        from core.target.footprint import Footprint
        from core.target.measure import TargetRun
        from core.measure.tasks import TaskScores
        from core.measure.tflm_check import TflmResult

        run_dir = Path(run_dir)
        try:
            report = json.loads((run_dir / "report.json").read_text())
        except (OSError, ValueError):
            raise LoadError(f"{run_dir}: not the folder of a finished run (no readable report.json). "
                            "Give the --out folder of `tinyopt run`.") from None
        session = cls(Recipe.load(run_dir / "recipe.json"))
        result = RunResult(session.recipe, None)
        fields = {f.name for f in dataclasses.fields(Metrics)}
        for row in report.get("variants", []):
            typed = ("tflm", "fidelity", "scores", "target", "footprint")
            metrics = Metrics(**{k: v for k, v in row.items() if k in fields and k not in typed})
            metrics.scores = TaskScores(**row["scores"]) if row.get("scores") else None
            metrics.tflm = TflmResult(**row["tflm"]) if row.get("tflm") else None
            metrics.fidelity = Fidelity(**row["fidelity"]) if row.get("fidelity") else None
            metrics.target = TargetRun.from_dict(row["target"]) if row.get("target") else None
            metrics.footprint = Footprint.from_dict(row["footprint"]) if row.get("footprint") else None
            path = run_dir / f"{row['name']}.tflite"
            art = None
            if row.get("kind") == "tflite" and path.exists():  # Keras variants stay rows without a model
                art = tflite_artifact(path.read_bytes(), name=row["name"], source=session.recipe.model)
                art = dataclasses.replace(art, history=tuple(row.get("history", [])), info=row.get("steps") or {})
            result.variants.append(Variant(art, metrics))
        if not any(v.artifact is not None for v in result.variants):
            raise ExportError(f"{run_dir}: this run wrote no .tflite variant to export.")
        session.result = result
        session._labels = report.get("labels") or []
        return session
