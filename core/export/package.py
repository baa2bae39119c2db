"""Build an export package for a firmware project, atomically.

Everything is written into a temporary folder beside the destination (same file system) and
renamed into place at the end, so an interrupted export leaves either the old state or the whole
package. Outputs carry no dates and sort their keys: the same model gives the same bytes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import zipfile
from pathlib import Path

from core.errors import ExportError
from core.export.c_source import check_prefix, main_example_cc, model_data_cc, model_data_h, model_settings_h
from core.export.html_report import render
from core.export.op_resolver import add_method, op_resolver_header

ARENA_MARGIN = 1024  # bytes: see model_settings.h for why
FILES = ["model.tflite", "model_data.h", "model_data.cc", "op_resolver.h", "model_settings.h",
         "main_example.cc", "report.json", "report.html", "recipe.json",
         "Makefile", "README.md", "startup.c", "link.ld", "verify_main.cc"]
DEFAULT_TARGET = "cortex-m4f"  # the CPU the Makefile builds for when the export names none


def package_name(model_name: str, variant_name: str) -> str:
    """A folder name from the model and the variant: letters, digits, '-', '_' and '.' only."""
    raw = f"{Path(str(model_name)).stem}-{variant_name}"
    return re.sub(r"[^A-Za-z0-9._-]+", "_", raw).strip("._") or "model"


def plan_export(out_dir, name: str, make_zip: bool = False) -> list[str]:
    """What an export will write (for the dialog's summary)."""
    folder = Path(out_dir) / name
    return [str(folder / f) for f in FILES] + ([str(folder) + ".zip"] if make_zip else [])


def _io(graph, index: int) -> dict:
    t = graph.tensors[index]
    q = graph.model.subgraphs[0].tensors[index].quantization
    scale = float(q.scale[0]) if q is not None and q.scale is not None and len(q.scale) else None
    zero = int(q.zeroPoint[0]) if scale is not None and q.zeroPoint is not None and len(q.zeroPoint) else None
    elements = 1
    for d in t.shape:
        elements *= d
    return {"shape": list(t.shape), "dtype": t.dtype, "elements": elements, "scale": scale, "zero_point": zero}


def _to_dict(metrics):
    if metrics is None:
        return None
    return metrics if isinstance(metrics, dict) else metrics.to_dict()


def build_files(artifact, *, prefix: str, recipe=None, metrics=None, original_metrics=None,
                labels=None, progress=lambda msg: None, target=None, npu=None,
                npu_arena: tuple | None = None) -> dict[str, bytes]:
    """Every file of the package as bytes (nothing touches the disk here). With `target` (a
    core.target.build.Firmware) the arena is the one measured on that emulated Cortex-M, checked
    there, and the Makefile builds for its CPU."""
    from core.analysis.graph import build_graph
    from core.analysis.memory import analyze_memory
    from core.report import versions
    from core.measure.tflm_check import check_tflm, loads_at

    if not artifact.is_tflite:
        raise ExportError(f"Variant '{artifact.name}' is a Keras model: export a converted (.tflite) variant, "
                          "e.g. its int8 quantization.")
    check_prefix(prefix)
    data = artifact.data
    graph = build_graph(data, artifact.name)
    ops = [op.type for op in graph.ops]
    for op in sorted(set(ops)):
        add_method(op)  # refuses ops TFLM lacks before any measuring
    progress("measuring the arena on TFLM")
    tflm = check_tflm(data, verify=True)
    if not tflm.runs:
        raise ExportError(f"Variant '{artifact.name}' does not run on TFLM: {tflm.reason}")
    on_target = {}
    if target is not None:
        measured, on_target = _target_arena(artifact, target, metrics, progress)
    else:
        measured = tflm.arena_verified or tflm.arena_total
    size = (measured + ARENA_MARGIN + 15) // 16 * 16
    progress("checking the arena size")
    if target is not None:
        from core.target.measure import loads_at as loads_on_target

        if not (loads_on_target(data, target, measured) and loads_on_target(data, target, size)):
            raise ExportError(f"'{artifact.name}' did not load on {target.target} at the measured arena "
                              f"({measured:,} B).")
    elif not (loads_at(data, measured) and loads_at(data, size)):
        raise ExportError(f"TFLM did not load '{artifact.name}' at the measured arena ({measured:,} B).")
    notes = []
    compress = artifact.info.get("compress") if artifact.info else None
    if compress and compress.get("tensors"):
        notes += ["This model is LUT-compressed: build TFLM with USE_TFLM_COMPRESSION=1 and keep",
                  "AddDecode() in the resolver. Decoded weights take "
                  f"{compress.get('decoded_bytes', 0):,} bytes of the arena (included above)."]
    footprint = _footprint(data, target, size, progress) if target is not None and npu is None else None
    if footprint is not None and footprint.get("error"):
        notes.append(footprint.pop("error"))
        footprint = None
    settings = {"arena_measured": measured, "arena_margin": size - measured, "arena_size": size,
                "footprint": footprint,
                "input": _io(graph, graph.inputs[0]), "output": _io(graph, graph.outputs[0]),
                "labels": list(labels or []), "firmware_notes": notes, **on_target,
                "package": package_name(artifact.source, artifact.name)}
    npu_report = None
    if npu is not None:  # an Ethos-U device: Vela's model, its resolver and build (npu_package.py)
        from core.export.npu_package import npu_settings

        progress(f"compiling with Vela for {npu.title}")
        npu_report = npu_settings(artifact, npu, settings, npu_arena)
    digest = recipe.digest() if recipe is not None else "none"
    tool = versions()
    provenance = (f"Generated by TinyOpt Studio {tool.get('tinyopt', '')} from '{Path(str(artifact.source)).name}', "
                  f"variant '{artifact.name}', recipe {digest}.")
    memory = analyze_memory(data).to_dict()
    report = {"package": package_name(artifact.source, artifact.name), "variant": _to_dict(metrics) or
              {"name": artifact.name, "size_bytes": len(data), "gzip_bytes": 0, "tflm": tflm.to_dict()},
              "original": _to_dict(original_metrics), "settings": settings, "ops": sorted(set(ops)),
              "memory": memory, "history": list(artifact.history), "steps": artifact.info,
              "recipe_hash": digest, "tool": tool}
    text = {
        "model_data.h": model_data_h(prefix, provenance),
        "model_data.cc": model_data_cc(prefix, data, provenance),
        "op_resolver.h": op_resolver_header(ops),
        "model_settings.h": model_settings_h(settings),
        "main_example.cc": main_example_cc(prefix, settings),
        "report.json": json.dumps(report, indent=2, sort_keys=True, default=str) + "\n",
        "report.html": render(report),
        "recipe.json": recipe.to_json() if recipe is not None else json.dumps(
            {"note": "exported from a model file; no recipe"}, indent=2) + "\n",
    }
    text.update(_firmware_files(target, settings, prefix))
    files = {"model.tflite": data}
    files.update({k: v.encode() for k, v in text.items()})
    if npu_report is not None:
        from core.export.npu_package import npu_files

        files = npu_files(files, npu_report, settings, prefix, provenance)
        if target is not None and npu_arena is None:  # measure the estimate's package, then size it so
            files = _npu_measured(files, artifact, target, npu, progress, prefix=prefix, recipe=recipe,
                                  metrics=metrics, original_metrics=original_metrics, labels=labels)
    return files


def _npu_measured(files, artifact, target, npu, progress, **kw) -> dict:
    """The NPU package again, its arena measured on the target from the estimate's build (twice the
    estimate when that is too small to allocate)."""
    from core.export.npu_package import measure_arena, where_measured
    from core.probes.isolation import temp_dir

    progress(f"measuring the arena of Vela's model on {target.target} (QEMU, without the NPU)")
    for attempt in range(2):
        with temp_dir("npu-arena") as tmp:
            _write_all(files, Path(tmp))
            try:
                used, _, _ = measure_arena(tmp, target)
                break
            except ExportError:
                if attempt:
                    raise
                settings_h = files["model_settings.h"].decode()
                size = int(settings_h.split("kTensorArenaSize = ")[1].split(";")[0])
                files = dict(files, **{"model_settings.h": settings_h.replace(
                    f"kTensorArenaSize = {size};", f"kTensorArenaSize = {size * 2 + 65536};").encode()})
    files = build_files(artifact, target=target, npu=npu, npu_arena=(used, where_measured(target)),
                        progress=progress, **kw)
    progress("checking that it allocates at the declared arena")
    with temp_dir("npu-arena") as tmp:
        _write_all(files, Path(tmp))
        measure_arena(tmp, target)  # an ExportError if not
    return files


def _write_all(files: dict, folder: Path) -> None:
    """Every file of the package under `folder` (FILES first; an NPU package has a header in a folder)."""
    for name in [*FILES, *sorted(set(files) - set(FILES))]:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(files[name])


def _footprint(data: bytes, target, arena: int, progress) -> dict:
    """The package's whole firmware footprint on its target with the declared arena
    (core.target.footprint), as a dict; {"error": why} when it could not be measured."""
    from core.errors import TinyOptError
    from core.target.footprint import measure

    progress(f"measuring the firmware footprint on {target.target}")
    try:
        return measure(data, target, arena, exact=True).to_dict()
    except TinyOptError as exc:
        return {"error": f"Firmware footprint not measured: {exc}"}


def _target_arena(artifact, target, metrics, progress) -> tuple[int, dict]:
    """(arena to declare before the margin, settings naming where it was measured): the run's
    measurement on this target when there is one, else a run now."""
    from core.target import measure
    from core.target.targets import get

    known = getattr(metrics, "target", None) if metrics is not None and not isinstance(metrics, dict) else None
    if known is None or (known.target, known.kernels) != (target.target, target.kernels):
        progress(f"measuring the arena on {target.target}")
        try:
            known = measure.run(artifact.data, measure.sample_inputs(artifact.data, zeros=True), target)
        except Exception as exc:  # TinyOptError from the target: the package would not run there
            raise ExportError(f"'{artifact.name}' does not run on {target.target}: {exc}") from None
    t = get(target.target)
    where = (f"{t.title} with {target.kernels} kernels (QEMU {t.machine}, tflite-micro "
             f"{target.info.get('tflite_micro_commit', '?')[:12]}, {target.info.get('compiler', '')})")
    return known.arena_used + 16, {"arena_measured_on": where, "arena_target": target.target,
                                   "arena_kernels": target.kernels, "arena_used_on_target": known.arena_used}


def _firmware_files(target, settings: dict, prefix: str) -> dict[str, str]:
    from core.export import firmware
    from core.target.targets import get
    from core.target.tree import default_root

    t = get(target.target if target is not None else DEFAULT_TARGET)
    kernels = target.kernels if target is not None else "cmsis-nn"
    tree = target.info.get("tree") if target is not None else str(default_root() or "/path/to/tflm")
    commit = target.info.get("tflite_micro_commit", "unknown") if target is not None else "unknown"
    return {"Makefile": firmware.makefile(t, kernels, tree, t.machine),
            "README.md": firmware.readme(t, kernels, tree, commit, settings, prefix),
            "startup.c": firmware.startup_c(), "link.ld": firmware.link_script(t),
            "verify_main.cc": firmware.verify_main_cc(settings)}


def _write_zip(folder: Path, target: Path) -> None:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            name = path.relative_to(folder).as_posix()
            info = zipfile.ZipInfo(f"{folder.name}/{name}", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, path.read_bytes())


def export_package(artifact, out_dir, *, prefix: str = "g_model", make_zip: bool = False,
                   overwrite: bool = False, recipe=None, metrics=None, original_metrics=None,
                   labels=None, progress=lambda msg: None, target=None, npu=None) -> Path:
    """Write the package folder `out_dir/<model>-<variant>` (and its .zip) and return its path."""
    out_dir = Path(out_dir)
    name = package_name(artifact.source, artifact.name)
    dest = out_dir / name
    zip_dest = out_dir / f"{name}.zip"
    if (dest.exists() or (make_zip and zip_dest.exists())) and not overwrite:
        raise ExportError(f"{dest} already exists: choose another folder or allow overwriting.")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"Cannot create {out_dir}: {exc.strerror}.") from None
    if not os.access(out_dir, os.W_OK):
        raise ExportError(f"Cannot write to {out_dir}: permission denied. Choose another folder.")
    files = build_files(artifact, prefix=prefix, recipe=recipe, metrics=metrics,
                        original_metrics=original_metrics, labels=labels, progress=progress, target=target,
                        npu=npu)
    tmp = out_dir / f".{name}.partial-{os.getpid()}"
    old = out_dir / f".{name}.old-{os.getpid()}"
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        _write_all(files, tmp)
        if make_zip:
            _write_zip(tmp, out_dir / f".{name}.zip.partial-{os.getpid()}")
        progress("moving the package into place")
        if dest.exists():
            os.replace(dest, old)  # only with overwrite: the old package stays whole until the swap
        os.replace(tmp, dest)
        if make_zip:
            os.replace(out_dir / f".{name}.zip.partial-{os.getpid()}", zip_dest)
    except OSError as exc:
        if old.exists() and not dest.exists():
            os.replace(old, dest)
        raise ExportError(f"Export to {dest} failed: {exc.strerror or exc}. Nothing was changed.") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
        partial_zip = out_dir / f".{name}.zip.partial-{os.getpid()}"
        if partial_zip.exists():
            partial_zip.unlink()
    return dest


def footprint_line(folder) -> str:
    """One line on the exported package's whole firmware (from its report.json), or ''."""
    try:
        fp = json.loads((Path(folder) / "report.json").read_text())["settings"].get("footprint")
    except (OSError, ValueError, KeyError, TypeError):
        return ""
    if not fp:
        return ""
    return (f"Firmware on {fp['target']} ({fp['kernels']}): flash {fp['flash_total']:,} B (model {fp['model']:,} + "
            f"TFLM code {fp['code']:,}), RAM {fp['ram_total']:,} B (arena {fp['arena']:,} + runtime "
            f"{fp['static_ram']:,} + stack {fp['stack']:,}); the split is in README.md.")
