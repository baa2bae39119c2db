"""ONNX models through onnx2tf and the rebuild pass: conversion time (first and cached), the largest
difference from onnxruntime, what the rebuilt model is made of, and the int8 model on TFLM (with
the arena of onnx2tf's own op-lambda model beside it, to show what the transposes cost).

    python bench/onnx_open.py

Writes bench/results/onnx_open.md. Models: the test suite's hand-built NCHW ones (as PyTorch exports
them), the trained reference CNN exported NCHW, and two made by tf2onnx from Keras (NHWC): the
third-party Fashion-MNIST CNN in ../shared/models and a MobileNetV2 (alpha 0.35, 96x96, random
weights, logits: fidelity, not accuracy, is measured; its outputs are tiny, hence the relative column).
"""

import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
from _table import machine, markdown, write

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "models"


def from_keras(model, path, shape):
    import tensorflow as tf
    import tf2onnx

    proto, _ = tf2onnx.convert.from_keras(model, opset=13,
                                          input_signature=[tf.TensorSpec((None, *shape), tf.float32, name="x")])
    path.write_bytes(proto.SerializeToString())
    return path


def models(folder: Path) -> list:
    from core.model.reference import train_reference
    from core.tf_env import keras
    from tests.core import onnx_models as om

    k = keras()
    made = [("cnn (NCHW, random)", om.cnn(folder / "cnn.onnx")),
            ("reference CNN (NCHW, trained)", om.reference_nchw(train_reference("mnist-5k", epochs=3).model,
                                                                folder / "reference.onnx")),
            ("residual: BN, depthwise, Add (NCHW)", om.residual(folder / "residual.onnx")),
            ("RGB stride-2 padded conv (NCHW)", om.rgb_strided(folder / "rgb.onnx")),
            ("sequence (1, 20, 6)", om.sequence(folder / "sequence.onnx")),
            ("cnn with Sin (NCHW)", om.cnn(folder / "sine.onnx", activation="Sin"))]
    fashion = SHARED / "seed_cnn_fashion_base.h5"
    if fashion.is_file():
        m = k.models.load_model(fashion, compile=False)
        made.append(("seed_cnn_fashion_base.h5 by tf2onnx", from_keras(m, folder / "fashion.onnx", (28, 28))))
    mobilenet = k.applications.MobileNetV2((96, 96, 3), alpha=0.35, weights=None, classes=10,
                                           classifier_activation=None)
    made.append(("MobileNetV2 0.35 96x96 by tf2onnx", from_keras(mobilenet, folder / "mobilenet.onnx", (96, 96, 3))))
    return made


def int8_on_tflm(model) -> tuple:
    from core.analysis.tflite_reader import op_names, read_model
    from core.data import Dataset
    from core.measure.tflm_check import check_tflm
    from core.steps.quantize import convert

    shape = tuple(int(d) for d in model.input_shape[1:])
    x = np.random.default_rng(0).uniform(0, 1, (16, *shape)).astype(np.float32)
    data = convert(model, "int8", Dataset("random", x, np.zeros(16, int), x[:4], np.zeros(4, int)))
    t = check_tflm(data)
    return len(data), t.arena_total if t.runs else None, op_names(read_model(data)).count("TRANSPOSE")


def main() -> int:
    folder = Path(tempfile.mkdtemp(prefix="tinyopt-bench-onnx-"))
    os.environ["XDG_CACHE_HOME"] = str(folder / "cache")  # every conversion from scratch
    from core.model.loading import load_model
    from core.tf_env import keras

    rows, kinds_seen = [], Counter()
    for name, path in models(folder):
        t = time.perf_counter()
        art = load_model(path)
        first = time.perf_counter() - t
        t = time.perf_counter()
        load_model(path)
        cached = time.perf_counter() - t
        info = art.info["onnx"]
        kinds = Counter(type(layer).__name__ for layer in art.model.layers[1:])
        if info["rebuilt"]:
            kinds_seen.update(kinds)
        size, arena, transposes = int8_on_tflm(art.model)
        lambda_arena = ""
        if info["rebuilt"]:  # onnx2tf's own model, kept beside the rebuilt one in the cache
            h5 = Path(info["prepared"]).with_name("model.h5")
            lambda_model = keras().models.load_model(h5, compile=False)
            _, la, lt = int8_on_tflm(lambda_model)
            lambda_arena = f"{la:,} ({lt} TRANSPOSE)" if la else "does not run"
        rows.append([name, f"{first:.1f}", f"{cached:.2f}", f"{info['max_diff']:.2g}", f"{info['scale']:.3g}",
                     f"{info['max_diff'] / info['scale']:.1e}" if info["scale"] else "-",
                     "yes" if info["rebuilt"] else f"no: {info['blocked_by']}", len(art.model.layers) - 1,
                     f"{size:,}", f"{arena:,}" if arena else "does not run", transposes, lambda_arena])
        print(rows[-1], flush=True)
    head = ["model", "convert s", "cached s", "max abs diff", "output scale", "relative", "rebuilt", "layers",
            "int8 B", "TFLM arena B", "TRANSPOSE", "op-lambda model's arena B"]
    text = (f"# ONNX models: conversion, fidelity, rebuild\n\n{machine()}; onnx2tf "
            f"{__import__('core.model.onnx_import', fromlist=['x']).converter_version()}.\n\n"
            "max abs diff: the opened model against onnxruntime on 4 random inputs in 0..1 (the rebuilt\n"
            "model when rebuilt); refused above 1e-3 x max(1, output scale). convert s: first open,\n"
            "the child process with TensorFlow's start included; cached s: the second open.\n\n"
            + markdown(head, rows)
            + "\n\nLayers of the rebuilt models: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds_seen.items()))
            + "\n")
    write("onnx_open.md", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
