"""ONNX models (from PyTorch and others) as Keras models, converted by onnx2tf in a child process.

The conversion is cached by the file's SHA-256 and the converter's version, so a model opened
again (or by the next trial of a search) loads at once. A converter crash or refusal is a LoadError
naming the file; the outputs of the converted model are compared with onnxruntime's and the
largest difference is kept with the model.

onnx2tf's Keras model computes with TFOpLambda layers (TensorFlow ops, no Python code), its weights
held as constants. core/model/onnx_rebuild.py rebuilds it from standard Keras layers when every op
maps, so the training components (pruning, clustering, QAT, channel pruning) work on it; otherwise
the op-lambda model is kept for the post-training steps, and `training_block` names the op.
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
MAX_DIFF = 1e-3  # onnxruntime against the converted model, relative to the outputs' largest value
FORMAT = "2"  # what the cache holds (2: the rebuilt model and its checks); a change converts again


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
    key = hashlib.sha256(data + version.encode() + FORMAT.encode()).hexdigest()[:24]
    folder = cache_dir() / key
    meta = folder / "conversion.json"
    if meta.is_file() and (folder / "model.h5").is_file():
        info = dict(json.loads(meta.read_text()), prepared=str(folder / "model.onnx"))
        _check_diff(path, info)
        return _model_file(folder, info), info
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
    info = {"converter": f"onnx2tf {version}", "notes": result["notes"],
            **{k: result[k] for k in ("max_diff", "scale", "rebuilt", "blocked_by", "transposes")}}
    meta.write_text(json.dumps(info))
    info["prepared"] = str(folder / "model.onnx")  # the batch-1 copy onnxruntime checks against
    _check_diff(path, info)
    return _model_file(folder, info), info


def _model_file(folder: Path, info: dict) -> Path:
    rebuilt = folder / "rebuilt.h5"
    return rebuilt if info.get("rebuilt") and rebuilt.is_file() else folder / "model.h5"


def _check_diff(path: Path, info: dict) -> None:
    """Refuse a conversion whose outputs are not onnxruntime's, with the figure."""
    limit = MAX_DIFF * max(1.0, info.get("scale") or 0.0)
    if not info["max_diff"] <= limit:  # also NaN
        raise LoadError(f"{path.name}: the converted model's outputs differ from onnxruntime's by "
                        f"{info['max_diff']:.3g} (tolerance {limit:.3g}, on random inputs in 0..1): the "
                        f"conversion is wrong, so the model is not opened. {info['converter']} made it; "
                        "an export with another opset, or a .tflite made another way, may convert right.")


def check_on_data(artifact, x, samples: int = 32) -> float:
    """The largest difference between the converted model and onnxruntime on the user's inputs
    `x` (the Keras model's layout); a LoadError with the figure when it is above tolerance."""
    import numpy as np
    import onnxruntime as ort

    info = artifact.info["onnx"]
    session = ort.InferenceSession(info["prepared"], providers=["CPUExecutionProvider"])
    feed = session.get_inputs()[0]
    shape = tuple(d if isinstance(d, int) else 1 for d in feed.shape)
    worst, scale = 0.0, 0.0
    for sample in np.asarray(x[:samples], np.float32):
        want = session.run(None, {feed.name: layout(sample[None], shape)})[0]
        got = layout(np.asarray(artifact.model(sample[None], training=False)), want.shape)
        worst = max(worst, float(np.max(np.abs(got - want))) if got.shape == want.shape else float("inf"))
        scale = max(scale, float(np.max(np.abs(want))))
    limit = MAX_DIFF * max(1.0, scale)
    if not worst <= limit:
        raise LoadError(f"{Path(artifact.source).name}: on your data the converted model's outputs differ "
                        f"from onnxruntime's by {worst:.3g} (tolerance {limit:.3g}, {min(samples, len(x))} "
                        "test samples): the conversion is wrong for these inputs, so the model is not used.")
    return worst


def layout(x, shape):
    """`x` in the layout `shape` asks for: onnx2tf's Keras model takes NHWC where ONNX gives NCHW."""
    import numpy as np

    shape = tuple(int(d) if d is not None else 1 for d in shape)
    if x.shape == shape:
        return x
    if x.ndim == 4 and (x.shape[0], x.shape[2], x.shape[3], x.shape[1]) == shape:
        return np.transpose(x, (0, 2, 3, 1))
    if x.ndim == 4 and (x.shape[0], x.shape[3], x.shape[1], x.shape[2]) == shape:
        return np.transpose(x, (0, 3, 1, 2))
    return x.reshape(shape) if x.size == int(np.prod(shape)) else x


def training_block(info: dict) -> str:
    """Why the training steps cannot change this ONNX model ('' when they can)."""
    if not info or info.get("rebuilt"):
        return ""
    return ("it was converted into TensorFlow ops (weights held as constants) that could not be rebuilt "
            f"as Keras layers: {info.get('blocked_by') or 'unknown op'}")


def describe(info: dict) -> str:
    """One line for the model summary: converter, accuracy of the conversion, what it became."""
    text = f"from ONNX by {info['converter']}, max |diff| against onnxruntime {info['max_diff']:.2g}"
    text += "; rebuilt as Keras layers" if info.get("rebuilt") else "; post-training steps only"
    moved = sum(b for _, b in info.get("transposes") or [])
    if moved:
        n = len(info["transposes"])
        text += f"; {n} TRANSPOSE left ({'an int8 buffer' if n == 1 else 'int8 buffers'} of {moved:,} B in the arena)"
    return text


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
    newest = onnx.defs.onnx_opset_version()
    for o in proto.opset_import:
        if o.domain in ("", "ai.onnx") and o.version > newest:
            raise LoadError(f"{path.name}: it asks for ONNX opset {o.version}, newer than the {newest} this "
                            f"onnx knows. Export it with opset {min(newest, 18)} (torch.onnx.export(..., "
                            f"opset_version={min(newest, 18)})).")
    for node in proto.graph.node:
        if node.domain not in ("", "ai.onnx") or not _converts(node.op_type):
            op = f"{node.domain}.{node.op_type}" if node.domain not in ("", "ai.onnx") else node.op_type
            raise LoadError(f"{path.name}: operator {op} (node '{node.name or node.output[0]}') is not one "
                            f"onnx2tf {converter_version()} converts. Export the model without it, or "
                            "convert it to .tflite yourself.")


def _converts(op_type: str) -> bool:
    """onnx2tf has one module per ONNX operator it converts (onnx2tf/ops/<OpType>.py)."""
    from importlib.util import find_spec

    spec = find_spec("onnx2tf")  # a top-level spec: found without importing onnx2tf (and TensorFlow)
    ops = Path((spec.submodule_search_locations or [""])[0]) / "ops" if spec else None
    if ops is None or not ops.is_dir():
        return True  # cannot tell here: the converter names what it cannot convert
    return op_type.isidentifier() and (ops / f"{op_type}.py").is_file()
