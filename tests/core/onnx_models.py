"""ONNX models built by hand with onnx.helper, laid out as PyTorch exports them (NCHW), for the tests
and the bench: the CNN family, a residual block with BatchNorm and a depthwise convolution, a 3-D
sequence model, and models with ops the rebuild or the converter does not take."""

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def _save(nodes, name, inputs, outputs, inits, path, opset=13):
    graph = helper.make_graph(nodes, name, inputs, outputs,
                              [numpy_helper.from_array(np.asarray(a, np.float32), n) for n, a in inits.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 7 if opset < 13 else 8
    onnx.save(model, path)
    return path


def _image(batch, channels=1, size=28):
    return [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, channels, size, size])]


def _out(batch, n=10):
    return [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, n])]


def cnn(path, *, opset=13, batch="N", seed=0, activation="Relu"):
    """Conv 4x3x3 -> activation -> MaxPool -> Flatten (NCHW order) -> Gemm, random weights."""
    rng = np.random.default_rng(seed)
    inits = {"W": rng.normal(0, 0.3, (4, 1, 3, 3)), "B": rng.normal(0, 0.1, 4),
             "G": rng.normal(0, 0.05, (10, 4 * 13 * 13)), "GB": np.zeros(10)}
    nodes = [helper.make_node("Conv", ["x", "W", "B"], ["c"], kernel_shape=[3, 3]),
             helper.make_node(activation, ["c"], ["r"]),
             helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Flatten", ["p"], ["f"], axis=1),
             helper.make_node("Gemm", ["f", "G", "GB"], ["y"], transB=1)]
    return _save(nodes, "cnn", _image(batch), _out(batch), inits, path, opset)


def reference_nchw(model, path):
    """The trained reference CNN (Keras, NHWC) as PyTorch would export it: OIHW kernels, an NCHW
    flatten, so its Gemm rows are in channel-major order."""
    conv, dense = model.get_layer("conv2d"), model.get_layer("dense")
    kernel, bias = conv.get_weights()
    w, b = dense.get_weights()  # rows in NHWC flatten order: (h, w, c)
    h = w_ = 13
    c = kernel.shape[3]
    nchw_rows = w.reshape(h, w_, c, -1).transpose(2, 0, 1, 3).reshape(h * w_ * c, -1)
    inits = {"W": kernel.transpose(3, 2, 0, 1), "B": bias, "G": nchw_rows.T, "GB": b}
    nodes = [helper.make_node("Conv", ["x", "W", "B"], ["c"], kernel_shape=[3, 3]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Flatten", ["p"], ["f"], axis=1),
             helper.make_node("Gemm", ["f", "G", "GB"], ["y"], transB=1)]
    return _save(nodes, "reference", _image("N"), _out("N"), inits, path)


def residual(path, seed=0):
    """Conv+BatchNorm+ReLU, a depthwise conv, a 1x1 conv, a residual Add, MaxPool, GlobalAveragePool,
    Gemm, Softmax."""
    rng = np.random.default_rng(seed)
    c = 8
    inits = {"W1": rng.normal(0, 0.3, (c, 1, 3, 3)), "B1": rng.normal(0, 0.1, c), "g": rng.uniform(0.5, 1.5, c),
             "be": rng.normal(0, 0.1, c), "mu": rng.normal(0, 0.1, c), "var": rng.uniform(0.5, 1.5, c),
             "Wd": rng.normal(0, 0.3, (c, 1, 3, 3)), "Bd": rng.normal(0, 0.1, c), "Wp": rng.normal(0, 0.3, (c, c, 1, 1)),
             "G": rng.normal(0, 0.2, (10, c)), "GB": rng.normal(0, 0.1, 10)}
    nodes = [helper.make_node("Conv", ["x", "W1", "B1"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c1", "g", "be", "mu", "var"], ["b1"], epsilon=1e-5),
             helper.make_node("Relu", ["b1"], ["r1"]),
             helper.make_node("Conv", ["r1", "Wd", "Bd"], ["d1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=c),
             helper.make_node("Relu", ["d1"], ["r2"]),
             helper.make_node("Conv", ["r2", "Wp"], ["p1"], kernel_shape=[1, 1]),
             helper.make_node("Add", ["p1", "r1"], ["a1"]),
             helper.make_node("MaxPool", ["a1"], ["m1"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("GlobalAveragePool", ["m1"], ["gp"]),
             helper.make_node("Flatten", ["gp"], ["f"], axis=1),
             helper.make_node("Gemm", ["f", "G", "GB"], ["l"], transB=1),
             helper.make_node("Softmax", ["l"], ["y"], axis=1)]
    return _save(nodes, "residual", _image("N"), _out("N"), inits, path)


def sequence(path, seed=0):
    """A (batch, time, features) input: MatMul+Add, ReLU, MatMul, Softmax over the last axis."""
    rng = np.random.default_rng(seed)
    inits = {"A": rng.normal(0, 0.3, (6, 16)), "AB": rng.normal(0, 0.1, 16), "Bm": rng.normal(0, 0.3, (16, 4))}
    nodes = [helper.make_node("MatMul", ["x", "A"], ["h"]), helper.make_node("Add", ["h", "AB"], ["hb"]),
             helper.make_node("Relu", ["hb"], ["r"]), helper.make_node("MatMul", ["r", "Bm"], ["o"]),
             helper.make_node("Softmax", ["o"], ["y"], axis=-1)]
    return _save(nodes, "sequence", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 20, 6])],
                 [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 20, 4])], inits, path)


def custom_op(path):
    """The CNN with a node of a vendor's domain, which no converter knows."""
    model = onnx.load(cnn(path))
    relu = next(n for n in model.graph.node if n.op_type == "Relu")
    relu.op_type, relu.domain, relu.name = "FancyActivation", "com.vendor", "fancy_1"
    model.opset_import.append(helper.make_opsetid("com.vendor", 1))
    onnx.save(model, path)
    return path


def rgb_strided(path, seed=0):
    """A 3-channel 32x32 image, a stride-2 convolution padded explicitly (onnx2tf writes a PAD),
    a Flatten in NCHW order and a Gemm: onnx2tf would download sample images for it."""
    rng = np.random.default_rng(seed)
    inits = {"W": rng.normal(0, 0.3, (8, 3, 3, 3)), "B": rng.normal(0, 0.1, 8),
             "G": rng.normal(0, 0.05, (10, 8 * 16 * 16)), "GB": rng.normal(0, 0.1, 10)}
    nodes = [helper.make_node("Conv", ["x", "W", "B"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("Flatten", ["r"], ["f"], axis=1),
             helper.make_node("Gemm", ["f", "G", "GB"], ["y"], transB=1)]
    return _save(nodes, "rgb", _image("N", 3, 32), _out("N"), inits, path)
