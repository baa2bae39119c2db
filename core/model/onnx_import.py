"""ONNX models (from PyTorch and others) as Keras models, converted by onnx2tf in a child process.

The conversion is cached by the file's SHA-256 and the converter's version, so a model opened
again (or by the next trial of a search) loads at once. A converter crash or refusal is a LoadError
naming the file; the outputs of the converted model are compared with onnxruntime's and the
largest difference is kept with the model.

onnx2tf's Keras model computes with TFOpLambda layers (TensorFlow ops, no Python code), its weights
held as constants: post-training quantization, the graph step and the TFLM measurements work on it;
the training components (pruning, clustering, QAT, channel pruning) do not yet.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

from core.errors import LoadError

ONNX_SUFFIXES = (".onnx",)
TIMEOUT_S = 900
MAX_DIFF = 1e-3  # onnxruntime against the converted model, on inputs in 0..1: above it, it is said


def converter_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("onnx2tf")
    except PackageNotFoundError:
        return ""


def cache_dir() -> Path:
    """Beside the target builds (core/target/build.py): the user's cache, never the project."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tinyopt" / "onnx"


def onnx_to_keras(path: Path, progress=lambda message: None) -> tuple[Path, dict]:
    """(the converted model's .h5, what the conversion said), converting once per file content."""
    from core.probes.isolation import describe_crash, run_probe

    version = converter_version()
    if not version:
        raise LoadError(f"{path.name}: opening ONNX models needs onnx2tf, which is not installed here. "
                        "Run `make run` (it installs it), or convert the model to .tflite first.")
    data = path.read_bytes()
    _check_readable(path, data)
    key = hashlib.sha256(data + version.encode()).hexdigest()[:24]
    folder = cache_dir() / key
    meta = folder / "conversion.json"
    if meta.is_file() and (folder / "model.h5").is_file():
        return folder / "model.h5", json.loads(meta.read_text())
    progress(f"converting {path.name} with onnx2tf {version} (once; cached)")
    folder.mkdir(parents=True, exist_ok=True)
    try:
        proc = run_probe("core.probes.onnx_probe", "--onnx-probe", [str(path.resolve()), str(folder)],
                         timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise LoadError(f"{path.name}: the ONNX conversion did not finish within {TIMEOUT_S} s.") from None
    except OSError as exc:
        raise LoadError(f"{path.name}: the ONNX converter could not start: {exc}") from None
    lines = [line for line in proc.stdout.decode("utf-8", "replace").splitlines() if line.startswith("{")]
    if not lines:
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise LoadError(f"{path.name}: the ONNX converter stopped ({describe_crash(proc.returncode)}): "
                        + " | ".join(tail)[-400:])
    result = json.loads(lines[-1])
    if not result.get("ok"):
        raise LoadError(f"{path.name}: onnx2tf {version} could not convert it: {result.get('error', '')[:400]}. "
                        "Check that it exports with a fixed input shape (torch.onnx.export with a sample "
                        "of batch 1), or convert it to .tflite yourself.")
    info = {"converter": f"onnx2tf {version}", "max_diff": result["max_diff"], "notes": result["notes"]}
    meta.write_text(json.dumps(info))
    return folder / "model.h5", info


def _check_readable(path: Path, data: bytes) -> None:
    """Refuse at once, in this process, what is not an ONNX model with a graph (parsing is safe:
    a protobuf holds no code); the converter's child only ever sees a readable model."""
    import onnx
    from google.protobuf.message import DecodeError

    try:
        proto = onnx.load_model_from_string(data)
    except (DecodeError, ValueError, RuntimeError):
        raise LoadError(f"{path.name}: not an ONNX model (it cannot be read as one). Export it again "
                        "(torch.onnx.export).") from None
    if not proto.graph.node or not proto.graph.output:
        raise LoadError(f"{path.name}: an ONNX file with no graph in it (no operators or outputs). "
                        "Export the model again.")
