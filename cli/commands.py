"""`tinyopt` headless commands (tinyopt/__main__.py starts the window when none is given).

Subcommands run headless: ``run`` (a sequence or recipe, writing variants and reports),
``analyze`` (evaluate one model), ``train-reference`` (the study's base CNN); ``npu`` (Vela, in
cli/npu.py).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from pathlib import Path

from cli import npu
from cli.npu import cmd_npu  # noqa: F401  (dispatched by name: cmd_<subcommand>)
from core.choices import PTQ_MODES, TASKS
from core.errors import TinyOptError, UsageError

log = logging.getLogger("tinyopt")

DEMO_STEPS = [{"name": "quantize", "params": {"modes": [m for m in PTQ_MODES if m != "float32"]}}]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tinyopt", description="TinyOpt Studio: optimize neural "
                                "networks for microcontrollers. Without a command, opens the app.")
    p.add_argument("--version", action="store_true", help="print versions and exit")
    sub = p.add_subparsers(dest="command")

    r = sub.add_parser("run", help="run an optimization sequence and write every variant")
    src = r.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help="model file: .h5, .keras, SavedModel folder or .tflite")
    src.add_argument("--recipe", help="a recipe.json saved by the app or by an earlier run")
    src.add_argument("--demo", action="store_true",
                     help="train (or reuse) the reference CNN on mnist-5k and apply every PTQ mode")
    r.add_argument("--data", default=None, help="mnist-5k (default), digits, mnist, fashion-mnist, an "
                   "image folder (a subfolder per class), a .npz (x_train, y_train, x_test, y_test; or "
                   "x, y; or x), a .csv (one sample per row), or none")
    r.add_argument("--label-column", default=None, help="CSV data: the column that holds the label")
    r.add_argument("--input-range", default=None, metavar="LOW,HIGH",
                   help="what the model's inputs are scaled to, e.g. 0,1 or -1,1 or 0,255 (default: "
                        "detected from the model)")
    r.add_argument("--input-norm", default=None, metavar="MEAN/STD",
                   help="normalize inputs as (x - mean) / std on 0..1 data instead, one value or one "
                        "per channel, e.g. 0.5/0.25 or 0.485,0.456,0.406/0.229,0.224,0.225")
    r.add_argument("--task", choices=TASKS, default=None,
                   help="what the model does (default: detected; an autoencoder is anomaly detection)")
    r.add_argument("--steps", help="e.g. prune:0.8,qat,quantize:int8 (see `tinyopt presets`)")
    r.add_argument("--preset", help="a preset id from `tinyopt presets` (e.g. smallest-tflm)")
    r.add_argument("--out", required=True, help="output folder")
    r.add_argument("--seed", type=int, default=None)
    r.add_argument("--latency-runs", type=int, default=None, help="timed invocations (default 200)")
    r.add_argument("--calibration", choices=("data", "synthetic"), default=None,
                   help="what integer quantization calibrates on; 'synthetic' (inputs drawn from the "
                        "input's range) only when you have no data, and the report says so")
    r.add_argument("--trust-model-code", action="store_true",
                   help="allow loading models whose layers store Python code (Lambda)")
    r.add_argument("--device", default=None, help="a device profile, e.g. nRF52840: every variant is measured "
                   "on its emulated core (unless --target) and checked to fit it, all of it (model + TFLM code "
                   "in flash, arena + runtime + stack in RAM)")
    r.add_argument("--flash-kb", type=int, default=None, help="with --device: its flash budget instead (KB)")
    r.add_argument("--ram-kb", type=int, default=None, help="with --device: its RAM budget instead (KB)")
    _target_options(r, npu=True)

    g = sub.add_parser("target", help="build TFLM for an emulated Cortex-M and measure a model there "
                       "(instructions per inference and per operator, arena, outputs vs the host)")
    g.add_argument("model", nargs="?", help="a .tflite to measure (none: only build the target)")
    g.add_argument("--samples", type=int, default=1, help="inputs to run (random, in the input's range)")
    g.add_argument("--json", action="store_true", help="print JSON instead of a table")
    _target_options(g, required=True)

    s = sub.add_parser("search", help="search sequences and parameters (Optuna): the Pareto front and the "
                       "best variant for a device")
    s.add_argument("--model", required=True, help="the model to optimize (.h5/.keras/SavedModel or .tflite)")
    s.add_argument("--data", default=None, help="as for run (default mnist-5k)")
    s.add_argument("--label-column", default=None)
    s.add_argument("--trials", type=int, default=30, help="trials to finish in all (with --resume: in total)")
    s.add_argument("--objectives", default="flash,ram,accuracy",
                   help="two or more of flash, ram, accuracy, latency (instructions on --target, Vela's "
                   "cycles with --npu or an NPU device, else host ms)")
    s.add_argument("--device", default=None, help="a device profile (RAM and flash budgets), e.g. nRF52840")
    s.add_argument("--ram-kb", type=int, default=None, help="RAM budget (KB): the firmware's (arena + TFLM runtime "
                   "+ stack) with --target, else the arena's")
    s.add_argument("--flash-kb", type=int, default=None, help="flash budget (KB): the firmware's (model + TFLM "
                   "code) with --target, else the model's")
    s.add_argument("--max-drop", type=float, default=None, help="accuracy floor: points below the original's")
    s.add_argument("--epochs", type=int, default=1, help="fine-tuning epochs of the training components")
    s.add_argument("--out", required=True, help="output folder: trials, front.json, search.db")
    s.add_argument("--resume", action="store_true", help="continue the search stored in --out (or --storage)")
    s.add_argument("--storage", default=None, help="an Optuna storage URL shared by several machines, e.g. "
                   "postgresql://user@host/db (default: sqlite in --out)")
    s.add_argument("--study", default=None, help="the study's name (the same on every machine)")
    s.add_argument("--no-presets", action="store_true", help="do not start from the presets' sequences "
                   "(by default the first trials, up to a third, are the presets that lie in the search space)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--trust-model-code", action="store_true")
    _target_options(s, npu=True)

    a = sub.add_parser("analyze", help="evaluate one model (size, accuracy, latency, TFLM arena)")
    a.add_argument("path")
    a.add_argument("--data", default=None, help="dataset for accuracy (default: none)")
    a.add_argument("--json", action="store_true", help="print JSON instead of a table")
    a.add_argument("--trust-model-code", action="store_true")

    e = sub.add_parser("export", help="write a TFLM package: .tflite, C array, op resolver, arena size, report")
    src = e.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help="a .tflite file to package")
    src.add_argument("--run", help="the --out folder of a finished `tinyopt run`: packages its --variant")
    src.add_argument("--recipe", help="a recipe.json: runs it and packages --variant")
    e.add_argument("--variant", help="variant name from the run (e.g. int8)")
    e.add_argument("--out", required=True, help="folder that receives the package folder")
    e.add_argument("--zip", action="store_true", help="also write a .zip of the package")
    e.add_argument("--prefix", default="g_model", help="C symbol prefix (default g_model)")
    e.add_argument("--overwrite", action="store_true", help="replace an existing package")
    e.add_argument("--trust-model-code", action="store_true",
                   help="allow loading models whose layers store Python code (Lambda)")
    e.add_argument("--verify", action="store_true", help="build the package's own files for the target with "
                   "its Makefile, run them in QEMU, check they allocate and match the host TFLM (an NPU "
                   "package: build and link only)")
    e.add_argument("--npu", default=None, help="package for this Ethos-U (Vela's model, AddEthosU(), the "
                   "driver), e.g. ethos-u55-128; or --device with an NPU")
    e.add_argument("--device", default=None, help="a device profile with an NPU, e.g. 'Alif' (its NPU and clock)")
    _target_options(e)

    sub.add_parser("presets", help="list the named sequences (--preset ID)")
    npu.add_parser(sub)

    t = sub.add_parser("train-reference", help="train the study's reference CNN (20,410 params)")
    t.add_argument("--data", default="mnist-5k")
    t.add_argument("--out", required=True, help="where to save the .h5")
    t.add_argument("--epochs", type=int, default=15)
    t.add_argument("--seed", type=int, default=0)
    return p


def _target_options(p, required: bool = False, npu: bool = False) -> None:
    from core.target.targets import KERNELS, TARGETS

    p.add_argument("--target", choices=list(TARGETS), required=required, default=None,
                   help="also measure every TFLM-runnable variant on this emulated Cortex-M (QEMU): "
                        "instructions, per-operator cost, arena; the first use builds TFLM (minutes)")
    p.add_argument("--kernels", choices=KERNELS, default=None, help="TFLM kernels on the target (default cmsis-nn)")
    p.add_argument("--clock-mhz", type=int, default=None, help="device clock for the time estimate")
    p.add_argument("--tflm-tree", default=None, help="TFLM source tree (default: $TINYOPT_TFLM_TREE, or "
                   "../shared/tflm beside the checkout)")
    if npu:  # run: also an Ethos-U NPU, through Vela
        from core.npu.configs import NPUS

        p.add_argument("--npu", choices=list(NPUS), default=None,
                       help="also compile every TFLM-runnable variant with Vela for this Ethos-U (estimates)")


def _apply_tree(args) -> None:
    if getattr(args, "tflm_tree", None):
        from core.target.tree import ENV

        os.environ[ENV] = str(Path(args.tflm_tree).resolve())


def is_command(word: str) -> bool:
    """True for a headless subcommand or option (`run`, `--help`, ...); anything else opens the window."""
    return word in _subcommands() or word in ("-h", "--help", "--version")


def main(argv=None) -> int:
    """The headless commands. `tinyopt` itself (tinyopt/__main__.py) routes here or to the window."""
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    args = _parser().parse_args(argv)
    if args.version:
        from core.report import versions

        print("\n".join(f"{k} {v}" for k, v in versions().items()))
        return 0
    if not args.command:
        _parser().print_help()
        return 0
    try:
        return globals()["cmd_" + args.command.replace("-", "_")](args)  # `cmd_<name>` per subcommand
    except BrokenPipeError:  # `tinyopt presets | head`: the reader left; not an error
        sys.stdout = open(os.devnull, "w")
        return 0
    except TinyOptError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _subcommands() -> list[str]:
    sub = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    return list(sub.choices)


def _recipe_from_args(args):
    from core.recipe import REFERENCE, Recipe
    from core.sequence import parse_steps

    if args.recipe:
        recipe = Recipe.load(args.recipe)
    elif args.demo:
        recipe = Recipe(model=REFERENCE, steps=list(DEMO_STEPS))
    else:
        if not (args.steps or args.preset):
            raise UsageError("Give --steps (e.g. quantize:int8), --preset or a --recipe.")
        recipe = Recipe(model=str(Path(args.model).resolve()),
                        steps=parse_steps(args.steps) if args.steps else [])
    if args.steps and (args.recipe or args.demo):
        recipe.steps = parse_steps(args.steps)
    if args.preset:
        if args.steps:
            raise UsageError("Give either --steps or --preset, not both.")
        from core.presets import get

        recipe.steps = [dict(s) for s in get(args.preset).steps]
    if args.data:
        recipe.data = None if args.data.lower() == "none" else args.data
    if args.label_column:
        recipe.label_column = args.label_column
    if args.task:
        recipe.task = args.task
    if args.input_range:
        try:
            low, high = (float(v) for v in args.input_range.split(","))
        except ValueError:
            raise UsageError(f"--input-range '{args.input_range}': give LOW,HIGH, e.g. 0,1 or -1,1.") from None
        recipe.input_range, recipe.input_norm = [low, high], None  # replaces a recipe file's choice
    if args.input_norm:
        from core.recipe import parse_norm

        recipe.input_norm = parse_norm(args.input_norm, "--input-norm")  # given with --input-range: refused below
        if not args.input_range:
            recipe.input_range = None  # replaces a recipe file's range
    if args.seed is not None:
        recipe.seed = args.seed
    if args.latency_runs is not None:
        recipe.latency_runs = args.latency_runs
    if args.calibration:
        recipe.steps = _set_everywhere(recipe.steps, "calibration", args.calibration)
    for name in ("target", "kernels", "clock_mhz", "npu"):
        if getattr(args, name, None) is not None:
            setattr(recipe, name, getattr(args, name))
    device = _device(args) if getattr(args, "command", None) == "run" else None
    if device is not None and not getattr(args, "target", None) and device.target:
        recipe.target = device.target  # measured where it will run
        recipe.clock_mhz = getattr(args, "clock_mhz", None) or device.clock_mhz
    elif device is not None and not getattr(args, "target", None) and device.stand_in:
        recipe.footprint_target = device.stand_in  # its footprint estimated on a built core, said so
    _apply_tree(args)
    recipe = Recipe.from_dict(recipe.to_dict(), "the command line")  # every check a recipe file gets
    return recipe


def _set_everywhere(steps: list, name: str, value) -> list:
    """Set parameter `name` on every step that has one (by its description, not by step name)."""
    from core.steps import REGISTRY

    out = []
    for s in steps:
        cls = REGISTRY.get(s.get("name")) if isinstance(s, dict) else None
        if cls is not None and any(p.name == name for p in cls.describe()):
            s = {**s, "params": {**(s.get("params") or {}), name: value}}
        out.append(s)
    return out


def cmd_target(args) -> int:
    import json

    from core.recipe import Recipe
    from core.session import Session
    from core.target.targets import get

    _apply_tree(args)
    target, kernels = get(args.target), args.kernels or "cmsis-nn"
    session = Session(Recipe(model=str(args.model) if args.model else "reference", data=None))
    built = session.firmware(target.name, kernels, progress=_stderr)
    if not args.model:
        print(f"{target.title} ({built.kernels}) ready: {built.elf}")
        return 0
    result = session.measure_on_target(target.name, kernels, samples=args.samples, clock_mhz=args.clock_mhz or 0)
    fp = session.footprint_on_target(target.name, kernels, result.arena_used)
    if args.json:
        print(json.dumps({**result.to_dict(), "footprint": fp.to_dict()}, indent=2, default=str))
        return 0
    print(f"{Path(args.model).name} on {target.title}, {built.kernels} kernels (QEMU {target.machine})")
    print(f"  instructions per inference: {result.instructions:,} (exact; samples: "
          f"{', '.join(f'{n:,}' for n in result.per_sample)})")
    ms = result.ms_estimate
    print("  cycles: " + (f"~{result.cycles_estimate:,}, ~{ms:.3f} ms at {result.clock_mhz} MHz ({result.estimate_model})"
                           if ms is not None else result.estimate_model))
    print(f"  arena used on the target: {result.arena_used:,} B")
    print(f"\n  {'#':>3}  {'operator':<24} {'instructions':>14} {'share':>7} {'MACs':>12} {'MACs/instr':>10}  kernel")
    for op in result.ops:
        share = op.instructions / result.instructions * 100 if result.instructions else 0
        mpi = "-" if op.macs_per_instruction is None else f"{op.macs_per_instruction:.3f}"
        macs = "-" if op.macs is None else f"{op.macs:,}"
        print(f"  {op.index:>3}  {op.op:<24} {op.instructions:>14,} {share:>6.1f}% {macs:>12} {mpi:>10}  {op.kernel}")
    print("\n  " + fp.split_text().replace("\n", "\n  "))
    return 0


def cmd_search(args) -> int:
    from core.devices import find
    from core.recipe import Recipe
    from core.search import Budget, Outcome, note, outcome, table
    from core.session import Session
    from core.steps.base import Context

    _apply_tree(args)
    recipe = Recipe(model=str(Path(args.model).resolve()), seed=args.seed, latency_runs=0)
    if args.data:
        recipe.data = None if args.data.lower() == "none" else args.data
    recipe.label_column = args.label_column
    device = find(args.device) if args.device else None
    target = args.target or (device.target if device is not None and "latency" in args.objectives else None)
    if target:
        recipe.target, recipe.kernels = target, args.kernels or "cmsis-nn"
        recipe.clock_mhz = args.clock_mhz or (device.clock_mhz if device else 0)
    if args.npu or (device is not None and device.npu):  # latency and RAM from Vela (objectives.measure)
        recipe.npu = args.npu or device.npu
        recipe.npu_clock_mhz = 0 if args.npu else device.npu_clock_mhz
    recipe = Recipe.from_dict(recipe.to_dict(), "the command line")
    budget = Budget(ram=args.ram_kb * 1024 if args.ram_kb else (device.ram if device else None),
                    flash=args.flash_kb * 1024 if args.flash_kb else (device.flash if device else None),
                    max_drop=args.max_drop)

    def on_trial(t):
        what, why = outcome(t), note(t)
        values = f" {[round(v, 4) for v in t.values]}" if t.values else ""
        why = "not run: the total is reached" if what is Outcome.SURPLUS else why
        print(f"  trial {t.number}: {what.value}{values}" + (f" ({why[:90]})" if why else ""), file=sys.stderr)

    session = Session(recipe, trust_model_code=args.trust_model_code)
    if args.data is None:
        _default_data(session)
    result = session.search(args.out, trials=args.trials, objectives=args.objectives.split(","), budget=budget,
                            epochs=args.epochs, storage=args.storage, study_name=args.study, resume=args.resume,
                            ctx=Context(log=lambda m: None), on_trial=on_trial, presets=not args.no_presets)
    print(table(result))
    best = result.best_for_device()
    print(f"\n{len(result.trials)} trials finished, {len(result.front)} on the front, {result.invalid} invalid "
          f"draws refused before running, {len(result.ruled_out)} ruled out by the budget before fine-tuning, "
          f"{result.refused} refused by a step, {result.unmeasured} not measurable (no TFLM arena), "
          f"{result.failed} failed.")
    print(f"Best for the budget: trial {best.number} ({best.folder})" if best else
          "No trial fits the budget and the accuracy floor.")
    print(f"Wrote {Path(args.out) / 'front.json'}")
    return 0


def cmd_run(args) -> int:
    from core.report import table
    from core.session import Session
    from core.steps.base import Context

    recipe = _recipe_from_args(args)
    out = _out_dir(args.out)
    session = Session(recipe, trust_model_code=args.trust_model_code)
    if args.data is None and not args.recipe:
        _default_data(session)

    def on_variant(v):
        Session.variant_file(out, v).write_bytes(model_bytes(v.artifact))
        print(f"  {v.name}: {v.metrics.size_bytes:,} bytes", file=sys.stderr)

    from core.measure.evaluation import model_bytes

    session.run(Context(log=_stderr), on_variant=on_variant)
    session.write_run(out)
    device = _device(args)
    print(table([v.metrics for v in session.variants], device))
    if device is not None:
        from core.report import fit_problems

        print(f"\nDevice {device.name}: 'fits' judges the firmware's totals (fw flash: model + TFLM code; fw RAM: "
              "arena + TFLM's own RAM + stack)" + ("." if device.target else
              f"; its {device.cpu or 'CPU'} has no emulated core: ~ marks totals estimated on the "
              f"{device.stand_in} build, * the model's bytes and arena alone where no build was there."))
        for line in fit_problems([v.metrics for v in session.variants], device):
            print("  " + line)
    for v in session.variants:
        if v.metrics.calibration == "synthetic":
            print(f"{v.name}: {v.metrics.notes[0]}")
    print(f"\nWrote {len(session.variants)} variants, report.json and recipe.json to {out}")
    return 0


def _default_data(session) -> None:
    """No --data given: the built-in default serves only a model whose input it is; any other model
    runs without data (as the window does), and the log says so."""
    from core.data import builtin_fits
    from core.errors import DataError
    from core.model.info import model_io

    name = session.recipe.data
    art = session.load()
    try:
        io = model_io(art)
        if io.multi_input:
            raise DataError("several inputs")
        builtin_fits(name, io.input_shape)
    except DataError:
        shape = "x".join("?" if d is None else str(d) for d in io.input_shape) if not io.multi_input else \
            f"{len(io.input_shapes)} inputs"
        session.recipe = dataclasses.replace(session.recipe, data=None)
        _stderr(f"No --data given, and the default '{name}' set does not fit this model's input ({shape}): "
                "running without data (every figure but accuracy; fidelity on inputs drawn from the "
                "input's range). Give --data for accuracy; integer quantization then needs your data "
                "or --calibration synthetic.")


def _device(args):
    """The --device profile of `run`, or None."""
    if not getattr(args, "device", None):
        if getattr(args, "flash_kb", None) or getattr(args, "ram_kb", None):
            raise UsageError("--flash-kb and --ram-kb change a --device's budgets: give --device too.")
        return None
    from core.devices import KB, find

    device = find(args.device)
    if args.flash_kb or args.ram_kb:
        budget = (f"{args.ram_kb or device.ram // KB} KB / {args.flash_kb or device.flash // KB} KB")
        device = dataclasses.replace(device, name=f"{device.name.split(' (')[0]} ({budget}, custom budget)",
                                     flash=(args.flash_kb or device.flash // KB) * KB,
                                     ram=(args.ram_kb or device.ram // KB) * KB)
    return device


def _out_dir(path) -> Path:
    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"Cannot create output folder {out}: {exc.strerror}.") from None
    return out


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


def cmd_analyze(args) -> int:
    import json

    from core.recipe import Recipe
    from core.report import table, tflm_cell
    from core.session import Session

    session = Session(Recipe(model=str(args.path), data=args.data), trust_model_code=args.trust_model_code)
    art = session.load()
    m = session.evaluate(art, data=args.data)
    mem = session.memory(art)[0] if art.is_tflite else None
    onnx = art.info.get("onnx")
    if args.json:
        print(json.dumps(dict(m.to_dict(), memory=mem.to_dict() if mem else None, onnx=onnx), indent=2, default=str))
        return 0
    if onnx:
        from core.model.onnx_import import describe

        print(f"{Path(args.path).name}: {describe(onnx)}" + "".join(f"; {n}" for n in onnx["notes"]))
    if mem:
        from core.analysis.memory import memory_table

        print(memory_table(mem) + "\n")
    print(table([m]))
    t = m.tflm
    print(f"\nParameters: {m.params:,}")
    if t:
        print(f"Runs on TFLM: {tflm_cell(m)}")
        if t.runs:
            loads = f"; loads at {t.arena_verified:,} bytes" if t.arena_verified else ""
            print(f"TFLM arena: total {t.arena_total:,} bytes (head {t.arena_head:,}, "
                  f"tail {t.arena_tail:,}){loads}")
    for note in m.notes:
        print(note)
    return 0


def cmd_export(args) -> int:
    from core.recipe import Recipe
    from core.session import Session
    from core.steps.base import Context

    if args.model:
        session = Session(Recipe(model=str(args.model), data=None), trust_model_code=args.trust_model_code)
        session.load()
        name = "original"
    else:
        if not args.variant:
            raise UsageError("Give --variant NAME with --run or --recipe (a variant of that run).")
        if args.run:
            session = Session.from_run(args.run)  # the finished run's files: nothing is re-run
        else:
            session = Session(Recipe.load(args.recipe), trust_model_code=args.trust_model_code)
            session.run(Context(log=_stderr))
        name = args.variant
    _apply_tree(args)
    target = args.target or (session.recipe.target if session.recipe.target != "none" else None)
    kernels = args.kernels or session.recipe.kernels
    npu = _export_npu(args, session)
    if npu is not None and target is None:
        target = "cortex-m55"  # the CPU beside every Ethos-U board here
    if args.verify and target is None:
        from core.export.package import DEFAULT_TARGET

        target = DEFAULT_TARGET
    path = session.export(name, args.out, prefix=args.prefix, make_zip=args.zip, overwrite=args.overwrite,
                          progress=_stderr, target=target, kernels=kernels, npu=npu)
    print(f"Wrote {path}" + (f" and {path}.zip" if args.zip else ""))
    from core.export.package import footprint_line

    if footprint_line(path):
        print(footprint_line(path))
    if args.verify and npu is not None:
        print(session.verify(path, target, kernels, progress=_stderr, npu=npu))
        return 0
    if args.verify:
        check = session.verify(path, target, kernels, progress=_stderr)
        print(check.message)
        return 0 if check.outputs_match else 1
    return 0


def _export_npu(args, session):
    """The Ethos-U an export is for: --npu, --device, or the run's recipe; None for a CPU package."""
    from core.npu.configs import find_npu

    if args.npu or args.device:
        from cli.npu import _npus

        return _npus(args)[0]
    recipe = session.recipe
    return find_npu(recipe.npu, recipe.npu_clock_mhz) if recipe.npu != "none" else None


def cmd_presets(args) -> int:
    from core.presets import PRESETS
    from core.sequence import Sequence

    for p in PRESETS.values():
        print(f"{p.id:16} {p.title}\n{'':16} {Sequence.from_dicts(p.steps)!r}\n{'':16} {p.description}\n")
    return 0


def cmd_train_reference(args) -> int:
    from core.model.reference import save_keras, train_reference

    art = train_reference(args.data, epochs=args.epochs, seed=args.seed)
    path = save_keras(art.model, args.out)
    print(f"Saved the reference CNN ({art.model.count_params():,} parameters) to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
