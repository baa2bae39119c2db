"""Child-process entry for converting an ONNX model to Keras with onnx2tf.

``python -m core.probes.onnx_probe MODEL.onnx OUT_DIR`` converts a copy of MODEL (onnx2tf rewrites
its input in place) into OUT_DIR/model.h5, compares the Keras model with onnxruntime on random
inputs, and prints one JSON line: ``{"ok": bool, "h5": path, "max_diff": float, "notes": [...],
"error": str}``. A converter crash costs this process only; the parent names the file.

The traps handled here, each seen with onnx2tf 1.29.24:
- an old IR/opset is raised to opset 13 first (onnx2tf's ops expect it);
- the batch is set to 1: onnx2tf bakes the batch into its reshapes (a dynamic one breaks TFLM's
  RESHAPE, and a Keras model made from it still reshapes to 1), so the Keras side runs it one
  sample at a time (core.measure.evaluation.batch_for);
- a 3-D input (a sequence, not an image) keeps its layout: onnx2tf would transpose it as NCW;
- nothing is downloaded: onnx2tf fetches sample images to check 3-channel image models (which
  fails offline); it gets random ones instead, and the network is closed in this process anyway;
- a channels-last image input (from TensorFlow, by tf2onnx) keeps its layout: onnx2tf would read
  its height as channels.
The converted model is then rebuilt from standard Keras layers (core/model/onnx_rebuild.py) when
every op maps, and kept beside it as rebuilt.h5 when its outputs still match onnxruntime's.
"""

from __future__ import annotations

import json
import os
import shutil
import sys

from core.model.onnx_import import layout as _layout
from core.model.onnx_rebuild import Unmapped, rebuild
from core.probes.isolation import die_with_parent

OPSET = 13
CHECK_SAMPLES = 4


def _no_network() -> None:
    import socket

    def refuse(*args, **kwargs):
        raise OSError("tinyopt: the ONNX conversion does not use the network")

    socket.create_connection = refuse
    socket.socket.connect = refuse


def _no_download() -> None:
    """onnx2tf fetches sample images (20x128x128x3) from the internet to check 3-channel image
    models: give it random ones made here instead (it only feeds them through both models)."""
    import numpy as np
    import onnx2tf.onnx2tf as entry

    entry.download_test_image_data = lambda: np.random.default_rng(0).uniform(
        0, 1, (20, 128, 128, 3)).astype(np.float32)


def prepare(model):
    """The model with a batch of 1 and opset >= OPSET; and what was changed."""
    import onnx
    from onnx import version_converter

    notes = []
    opset = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0)
    if opset < OPSET:
        model = version_converter.convert_version(model, OPSET)
        notes.append(f"opset {opset} raised to {OPSET}")
    initializers = {i.name for i in model.graph.initializer}
    for inp in model.graph.input:
        if inp.name in initializers:
            continue
        dims = inp.type.tensor_type.shape.dim
        if dims and (dims[0].dim_param or dims[0].dim_value != 1):
            dims[0].Clear()
            dims[0].dim_value = 1
            notes.append(f"input {inp.name}: batch set to 1")
    onnx.checker.check_model(model)
    return model, notes


def convert(src: str, out_dir: str) -> dict:
    import numpy as np
    import onnx
    import onnx2tf
    import onnxruntime as ort

    from core.tf_env import keras

    os.makedirs(out_dir, exist_ok=True)
    _no_download()
    model, notes = prepare(onnx.load(src))
    work = os.path.join(out_dir, "model.onnx")
    onnx.save(model, work)
    initializers = {i.name for i in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    keep = [i.name for i in inputs if len(i.type.tensor_type.shape.dim) == 3]
    if keep:
        notes.append("sequence input(s) kept as they are: " + ", ".join(keep))
    channels_last = [i.name for i in inputs if _channels_last(i)]
    if channels_last:  # exported from TensorFlow (tf2onnx): already NHWC, onnx2tf would take H for C
        keep += channels_last
        notes.append("channels-last input(s) kept as they are: " + ", ".join(channels_last))
    tf_dir = os.path.join(out_dir, "onnx2tf")
    onnx2tf.convert(input_onnx_file_path=work, output_folder_path=tf_dir, output_h5=True, non_verbose=True,
                    batch_size=1, keep_shape_absolutely_input_names=keep or None)
    h5 = os.path.join(out_dir, "model.h5")
    shutil.copy(os.path.join(tf_dir, "model_float32.h5"), h5)
    shutil.rmtree(tf_dir, ignore_errors=True)
    km = keras().models.load_model(h5, compile=False)
    session = ort.InferenceSession(work, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    feeds = [{i.name: rng.uniform(0, 1, [d.dim_value or 1 for d in i.type.tensor_type.shape.dim]).astype(np.float32)
              for i in inputs} for _ in range(CHECK_SAMPLES)]
    wants = [session.run(None, f)[0] for f in feeds]
    worst = _worst(km, inputs, feeds, wants)
    scale = max(float(np.max(np.abs(w))) for w in wants)
    result = {"ok": True, "h5": h5, "max_diff": worst, "scale": scale, "notes": notes, "error": "",
              "rebuilt": False, "blocked_by": "", "transposes": _transposes(km)}
    try:
        rebuilt = rebuild(km)
    except Unmapped as exc:
        result["blocked_by"] = str(exc)
        return result
    diff = _worst(rebuilt, inputs, feeds, wants)
    if diff > max(2 * worst, 1e-5 * max(1.0, scale)):  # the rebuild must not cost accuracy
        result["blocked_by"] = f"the rebuilt Keras model differs from onnxruntime by {diff:.2g}"
        return result
    rebuilt.save(os.path.join(out_dir, "rebuilt.h5"))
    result.update(rebuilt=True, max_diff=diff, converted_diff=worst, transposes=_transposes(rebuilt))
    return result


def _channels_last(value_info) -> bool:
    """An image input laid out (N, H, W, C): few channels last, many first (1, 28, 28, 1)."""
    dims = [d.dim_value for d in value_info.type.tensor_type.shape.dim]
    return len(dims) == 4 and dims[3] in (1, 2, 3, 4) and dims[1] > 4 and dims[2] > 4


def _worst(km, inputs, feeds, wants) -> float:
    """The largest difference between `km` and onnxruntime's outputs `wants` on `feeds`."""
    import numpy as np

    worst = 0.0
    for feed, want in zip(feeds, wants):
        xs = [_layout(feed[i.name], (1, *km.inputs[k].shape[1:])) for k, i in enumerate(inputs)]
        got = np.asarray(km(xs if len(xs) > 1 else xs[0], training=False))
        got = _layout(got, want.shape)
        worst = max(worst, float(np.max(np.abs(got - want))) if got.shape == want.shape else float("inf"))
    return worst


def _transposes(km) -> list:
    """[layer name, bytes of its int8 output] for each transpose the model still computes: each
    costs a buffer of its output's size in the MCU's arena."""
    import numpy as np

    found = []
    for layer in km.layers:
        kind = type(layer).__name__
        if kind == "Permute" or (kind == "TFOpLambda" and "transpose" in layer.get_config().get("function", "")):
            found.append([layer.name, int(np.prod(layer.output_shape[1:]))])
    return found


def main(argv=None) -> int:
    die_with_parent()  # no address-space cap: TensorFlow alone maps more than a probe's 4 GB
    argv = list(sys.argv[1:] if argv is None else argv)
    _no_network()
    out = os.fdopen(os.dup(1), "w")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # onnx2tf prints tables and progress: keep them out of our JSON
    try:
        result = convert(argv[0], argv[1])
    except Exception as exc:  # the parent turns it into a message naming the file
        result = {"ok": False, "h5": "", "max_diff": None, "notes": [], "error": f"{type(exc).__name__}: {exc}"[:800]}
    out.write(json.dumps(result) + "\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
