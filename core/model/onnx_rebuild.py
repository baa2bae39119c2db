"""onnx2tf's Keras model rebuilt from real Keras layers, so the training components can change it.

onnx2tf writes every ONNX op as a TFOpLambda layer (a TensorFlow function) with the weights as
constants in its call: tfmot cannot prune, cluster or quantize-aware-train that. This pass walks
the converted model once and emits Conv2D, DepthwiseConv2D, Dense, pooling, activations, Add,
Concatenate, ZeroPadding2D, Reshape/Flatten instead, and:
- folds a bias, a per-channel scale (ONNX BatchNormalization arrives as multiply + add) and
  Gemm's alpha into the convolution or Dense before them, when nothing else reads it;
- follows onnx2tf's NCHW<->NHWC transposes as a pending permutation instead of emitting them:
  transposes that cancel vanish, and the one before Flatten -> Dense (an NCHW model's flatten
  order) becomes a permutation of the Dense's rows, so the MCU keeps no TRANSPOSE buffer;
- drops the batch of 1 onnx2tf bakes into its reshapes (the model trains in batches).

An op with no Keras counterpart raises `Unmapped` naming it; the caller then keeps the op-lambda
model (post-training steps only). The caller checks the rebuilt outputs against the converted ones.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import numpy as np

ACTIVATIONS = {"nn.relu": "relu", "nn.relu6": "relu6", "math.sigmoid": "sigmoid", "nn.sigmoid": "sigmoid",
               "math.tanh": "tanh", "nn.tanh": "tanh", "nn.elu": "elu", "nn.silu": "swish", "nn.swish": "swish",
               "math.softplus": "softplus", "nn.softplus": "softplus", "nn.gelu": "gelu"}
ADD, SUB, MUL = ("math.add", "__operators__.add", "nn.bias_add"), ("math.subtract", "__operators__.sub"), \
    ("math.multiply", "__operators__.mul")
SAME_VALUE = {"cast", "identity", "compat.v1.identity"}
POOLS = {"nn.max_pool2d": "max", "nn.max_pool": "max", "nn.avg_pool2d": "avg", "nn.avg_pool": "avg"}


class Unmapped(Exception):
    """An op this pass has no Keras layer for; the message names it."""


@dataclass
class Value:
    """A rebuilt tensor: `tensor` is physical; logical axis i (what onnx2tf's graph sees) is
    physical axis perm[i]. `rows`, for a flattened tensor, maps logical feature j to physical
    feature rows[j] (`before` is the unflattened value, to emit the real transpose if needed).
    `affine` is the layer whose plain linear output this is (a bias or scale can fold into it)."""

    tensor: object
    perm: tuple
    rows: np.ndarray | None = None
    before: "Value | None" = None
    affine: object = None

    @property
    def plain(self) -> bool:
        return self.rows is None and self.perm == tuple(range(len(self.perm)))


def rebuild(model):
    """`model` (onnx2tf's, TFOpLambda layers) as a Keras model of standard layers, batch free."""
    from core.tf_env import keras

    return _Rebuild(keras(), model).run()


class _Rebuild:
    def __init__(self, k, model):
        self.k, self.model, self.values, self.uses = k, model, {}, {}
        for layer in model.layers:
            for node in layer.inbound_nodes:
                for t in _tensors((node.call_args, node.call_kwargs)):
                    self.uses[id(t)] = self.uses.get(id(t), 0) + 1

    def run(self):
        L = self.k.layers
        inputs = []
        for t in self.model.inputs:
            new = L.Input(shape=tuple(t.shape[1:]), name=t._keras_history.layer.name)
            inputs.append(new)
            self.values[id(t)] = Value(new, tuple(range(len(t.shape))))
        for layer in self.model.layers:
            if isinstance(layer, L.InputLayer):
                continue
            if len(layer.inbound_nodes) != 1:
                raise Unmapped(f"layer {layer.name} is used more than once")
            self.values[id(layer.output)] = self.layer(layer)
        outputs = [self.materialize(self.values[id(t)]) for t in self.model.outputs]
        return self.k.Model(inputs, outputs if len(outputs) > 1 else outputs[0], name=self.model.name)

    # ------------------------------------------------------------------ helpers
    def value(self, t) -> Value:
        if not _is_tensor(t):
            raise Unmapped("a constant where a tensor was expected")
        return self.values[id(t)]

    def materialize(self, v: Value):
        """`v`'s tensor in its logical layout: emit the transpose (and flatten) it still owes."""
        if v.rows is not None:
            return self.k.layers.Flatten()(self.materialize(v.before))
        if v.plain:
            return v.tensor
        if v.perm[0] != 0:
            raise Unmapped("a transpose that moves the batch axis")
        return self.k.layers.Permute(tuple(p for p in v.perm[1:]))(v.tensor)

    def plain(self, t) -> Value:
        v = self.value(t)
        return v if v.plain else Value(self.materialize(v), tuple(range(len(v.perm))))

    def apply(self, layer, t, weights=None, affine=False) -> Value:
        out = layer(t)
        if weights is not None:
            layer.set_weights(weights)
        return Value(out, tuple(range(len(out.shape))), affine=layer if affine else None)

    # ------------------------------------------------------------------ one layer
    def layer(self, layer) -> Value:
        L = self.k.layers
        node = layer.inbound_nodes[0]
        if not isinstance(layer, L.Layer) or type(layer).__name__ != "TFOpLambda":
            return self.native(layer, node)
        fn = layer.get_config()["function"]
        try:
            a = inspect.signature(layer.function).bind(*node.call_args, **node.call_kwargs)
        except TypeError:
            raise Unmapped(f"tf.{fn} ({layer.name}): arguments not understood") from None
        a.apply_defaults()
        a = a.arguments
        try:
            return self.op(fn, a, layer)
        except Unmapped as exc:
            where = "" if layer.name.startswith(f"tf.{fn}") else f" ({layer.name})"
            raise Unmapped(f"tf.{fn}{where}: {exc}") from None

    def native(self, layer, node) -> Value:
        """A standard Keras layer onnx2tf wrote itself (Flatten, at times Dense...): cloned."""
        (t,) = node.call_args
        kind = type(layer).__name__
        if kind == "Flatten":
            return self.flatten(self.value(t))
        if not hasattr(self.k.layers, kind) or kind in ("Lambda", "TFOpLambda", "SlicingOpLambda"):
            raise Unmapped(f"{kind} ({layer.name}): no standard Keras layer")
        clone = type(layer).from_config(layer.get_config())
        return self.apply(clone, self.plain(t).tensor, layer.get_weights())

    def op(self, fn, a, layer) -> Value:
        L = self.k.layers
        if fn in SAME_VALUE:
            t = a.get("x", a.get("input"))
            if fn == "cast" and str(a["dtype"]).split(".")[-1].strip("'<>: ") not in ("float32", "dtype"):
                raise Unmapped(f"a cast to {a['dtype']}")
            return self.value(t)
        if fn in ACTIVATIONS:
            v = self.value(a.get("features", a.get("x")))
            name = ACTIVATIONS[fn]
            if name == "gelu" and a.get("approximate"):
                raise Unmapped("the tanh approximation of GELU")
            made = L.ReLU() if name == "relu" else L.ReLU(6.0) if name == "relu6" else L.Activation(name)
            return Value(made(v.tensor), v.perm, v.rows, v.before)
        if fn == "nn.leaky_relu":
            v = self.value(a["features"])
            return Value(L.LeakyReLU(float(a["alpha"]))(v.tensor), v.perm, v.rows, v.before)
        if fn == "clip_by_value" and _const(a["clip_value_min"]) == 0 and not _is_tensor(a["clip_value_max"]):
            v = self.value(a["t"])
            return Value(L.ReLU(float(_const(a["clip_value_max"])))(v.tensor), v.perm, v.rows, v.before)
        if fn == "math.maximum" and not _is_tensor(a["y"]) and np.all(_const(a["y"]) == 0):
            v = self.value(a["x"])
            return Value(L.ReLU()(v.tensor), v.perm, v.rows, v.before)
        if fn == "nn.softmax":
            v = self.plain(a["logits"])
            axis = -1 if a["axis"] is None else int(a["axis"])
            return self.apply(L.Softmax(axis=axis), v.tensor)
        if fn in ("nn.convolution", "nn.conv2d"):
            return self.conv(a)
        if fn in ("compat.v1.nn.depthwise_conv2d", "nn.depthwise_conv2d"):
            return self.depthwise(a)
        if fn in ("linalg.matmul", "matmul"):
            return self.matmul(a)
        if fn in ADD + SUB + MUL:
            return self.binary(fn, a)
        if fn in POOLS:
            v = self.plain(a["input"])
            size, strides = _spatial(a["ksize"]), _spatial(a["strides"])
            pool = L.MaxPooling2D if POOLS[fn] == "max" else L.AveragePooling2D
            return self.apply(pool(size, strides, padding=_padding(a["padding"])), v.tensor)
        if fn in ("math.reduce_mean", "math.reduce_max"):
            return self.reduce(fn, a)
        if fn in ("compat.v1.transpose", "transpose"):
            v = self.value(a["a"])
            if v.rows is not None:
                v = Value(self.materialize(v), (0, 1))
            perm = tuple(int(p) for p in _const(a["perm"]))
            return Value(v.tensor, tuple(v.perm[p] for p in perm))
        if fn == "reshape":
            return self.reshape(self.value(a["tensor"]), [int(s) for s in _const(a["shape"])], layer)
        if fn in ("squeeze", "expand_dims", "compat.v1.squeeze"):
            return self.reshape(self.value(a.get("input")), [1, *layer.output_shape[1:]], layer)
        if fn == "concat":
            values = [self.value(t) for t in a["values"]]
            perms = {v.perm for v in values}
            if len(perms) != 1 or any(v.rows is not None for v in values):
                values = [self.plain(t) for t in a["values"]]
            perm = values[0].perm
            axis = int(a["axis"]) % len(perm)
            out = L.Concatenate(axis=perm[axis])([v.tensor for v in values])
            return Value(out, perm)
        if fn in ("pad", "compat.v1.pad"):
            return self.pad(a)
        raise Unmapped("no Keras layer for this op")

    # ------------------------------------------------------------------ the ops with weights
    def conv(self, a) -> Value:
        L = self.k.layers
        v = self.plain(a["input"])
        w = _const(a["filters"])
        if w.ndim != 4 or (a.get("data_format") or "NHWC") != "NHWC":
            raise Unmapped(f"a {w.ndim - 2}-D convolution")
        layer = L.Conv2D(w.shape[3], w.shape[:2], strides=_spatial(a["strides"] or 1),
                         padding=_padding(a["padding"]), dilation_rate=_spatial(a.get("dilations") or 1))
        return self.apply(layer, v.tensor, [w, np.zeros(w.shape[3], np.float32)], affine=True)

    def depthwise(self, a) -> Value:
        L = self.k.layers
        v = self.plain(a["input"])
        w = _const(a["filter"])
        rate = a.get("rate") or a.get("dilations") or 1
        layer = L.DepthwiseConv2D(w.shape[:2], strides=_spatial(a["strides"]), padding=_padding(a["padding"]),
                                  depth_multiplier=w.shape[3], dilation_rate=_spatial(rate))
        return self.apply(layer, v.tensor, [w, np.zeros(w.shape[2] * w.shape[3], np.float32)], affine=True)

    def matmul(self, a) -> Value:
        if _is_tensor(a["b"]) or not _is_tensor(a["a"]) or a["transpose_a"] or a["adjoint_a"]:
            raise Unmapped("a product of two tensors, or with the constant first")
        b = _const(a["b"])
        b = b.T if a["transpose_b"] or a["adjoint_b"] else b
        v = self.value(a["a"])
        if v.rows is not None and b.ndim == 2:
            kernel = np.empty_like(b)
            kernel[v.rows] = b  # logical feature j is physical feature rows[j]
            b, x = kernel, v.tensor
        else:
            x = self.plain(a["a"]).tensor
        if b.ndim != 2:
            raise Unmapped("a batched matrix product")
        return self.apply(self.k.layers.Dense(b.shape[1]), x, [b, np.zeros(b.shape[1], np.float32)], affine=True)

    def binary(self, fn, a) -> Value:
        L = self.k.layers
        x, y = a["x"], a["y"]
        if _is_tensor(x) and _is_tensor(y):
            vx, vy = self.value(x), self.value(y)
            if vx.perm != vy.perm or vx.rows is not None or vy.rows is not None:
                vx, vy = self.plain(x), self.plain(y)
            made = L.Add() if fn in ADD else L.Subtract() if fn in SUB else L.Multiply()
            return Value(made([vx.tensor, vy.tensor]), vx.perm)
        if fn in SUB and not _is_tensor(y):
            fn, y = ADD[0], -_const(y)
        elif fn in SUB:
            raise Unmapped("a constant minus a tensor")
        t, c = (x, _const(y)) if _is_tensor(x) else (y, _const(x))
        v = self.value(t)
        if v.rows is not None:
            v = Value(self.materialize(v), (0, 1))
        vec = _per_channel(c, v)
        add = fn in ADD
        if v.affine is not None and self.uses.get(id(t), 0) == 1:
            weights = v.affine.get_weights()
            if add:
                weights[1] = weights[1] + vec
            else:
                weights = [_scale_out(v.affine, weights[0], vec), weights[1] * vec]
            v.affine.set_weights(weights)
            return Value(v.tensor, v.perm, affine=v.affine)
        if len(v.perm) != 4:
            raise Unmapped("a per-channel constant on a tensor that is not an image")
        scale, bias = (np.ones_like(vec), vec) if add else (vec, np.zeros_like(vec))
        layer = L.DepthwiseConv2D(1, use_bias=True)  # a per-channel affine that trains as one
        out = self.apply(layer, v.tensor, [scale.reshape(1, 1, -1, 1), bias]).tensor
        return Value(out, v.perm, affine=layer if v.plain else None)

    # ------------------------------------------------------------------ shapes
    def reduce(self, fn, a) -> Value:
        L = self.k.layers
        v = self.value(a["input_tensor"])
        if v.rows is not None or len(v.perm) != 4 or a["axis"] is None:
            raise Unmapped("a reduction that is not over an image's positions")
        axes = {v.perm[int(i) % 4] for i in np.atleast_1d(_const(a["axis"]))}
        if axes != {1, 2}:
            raise Unmapped(f"a reduction over axes {sorted(axes)}")
        keep = bool(a["keepdims"])
        pool = L.GlobalAveragePooling2D if fn == "math.reduce_mean" else L.GlobalMaxPooling2D
        out = pool(keepdims=keep)(v.tensor)
        if keep:
            return Value(out, v.perm)
        left = [v.perm[i] for i in range(4) if v.perm[i] not in (1, 2)]
        return Value(out, tuple(int(r) for r in np.argsort(np.argsort(left))))

    def flatten(self, v: Value) -> Value:
        if len(v.perm) == 2 and v.rows is None:
            return v
        if v.rows is not None:
            return v
        out = self.k.layers.Flatten()(v.tensor)
        if v.plain:
            return Value(out, (0, 1))
        shape = tuple(int(d) for d in v.tensor.shape[1:])
        index = np.arange(int(np.prod(shape))).reshape((1, *shape))
        rows = np.transpose(index, v.perm).reshape(-1)
        if np.array_equal(rows, np.arange(rows.size)):  # only size-1 axes moved
            return Value(out, (0, 1))
        return Value(out, (0, 1), rows=rows, before=v)

    def reshape(self, v: Value, shape: list, layer) -> Value:
        before, after = v.tensor.shape[1:], layer.output_shape[1:]
        if not shape or layer.output_shape[0] != 1 or np.prod(before) != np.prod(after):
            raise Unmapped(f"a reshape to {shape} that changes the batch")
        if len(shape) == 2:
            return self.flatten(v)
        phys = [1 if d is None else int(d) for d in v.tensor.shape]
        moved = _moves_ones(tuple(phys[p] for p in v.perm), tuple(layer.output_shape), v)
        if moved is not None:  # tf2onnx writes NHWC -> NCHW for 1 channel as such a reshape
            return Value(v.tensor, tuple(v.perm[a] for a in moved))
        x = self.materialize(v) if not v.plain else v.tensor
        target = tuple(int(d) for d in layer.output_shape[1:])
        return self.apply(self.k.layers.Reshape(target), x)

    def pad(self, a) -> Value:
        v = self.value(a["tensor"])
        pads = _const(a["paddings"]).astype(int)
        if str(a["mode"]).upper() != "CONSTANT" or float(_const(a["constant_values"])) != 0 or len(v.perm) != 4 \
                or v.rows is not None:
            raise Unmapped("padding that is not with zeros around an image")
        phys = np.zeros_like(pads)
        for i, p in enumerate(v.perm):
            phys[p] = pads[i]
        if phys[0].any() or phys[3].any():
            raise Unmapped("padding of the batch or channel axis")
        out = self.k.layers.ZeroPadding2D(((phys[1][0], phys[1][1]), (phys[2][0], phys[2][1])))(v.tensor)
        return Value(out, v.perm)


def _is_tensor(x) -> bool:
    return hasattr(x, "_keras_history")


def _tensors(x):
    if _is_tensor(x):
        yield x
    elif isinstance(x, (list, tuple)):
        for item in x:
            yield from _tensors(item)
    elif isinstance(x, dict):
        for item in x.values():
            yield from _tensors(item)


def _const(x) -> np.ndarray:
    return np.asarray(x.numpy() if hasattr(x, "numpy") else x, dtype=np.float32)


def _spatial(x) -> tuple:
    """ksize/strides/dilations as (h, w): from an int, [h, w] or [1, h, w, 1]."""
    a = [int(i) for i in np.atleast_1d(_const(x))]
    a = a[1:3] if len(a) == 4 else a * 2 if len(a) == 1 else a
    if len(a) != 2:
        raise Unmapped(f"a window or stride of {len(a)} dimensions")
    return tuple(a)


def _padding(p) -> str:
    if not isinstance(p, str) or p.upper() not in ("SAME", "VALID"):
        raise Unmapped(f"explicit padding {p}")
    return p.lower()


def _moves_ones(source: tuple, target: tuple, v: Value):
    """For a reshape that only moves axes of size 1 (same rank, same other sizes in order): the
    source axis each target axis is; else None."""
    if v.rows is not None or len(source) != len(target) or source[0] != 1:
        return None
    big = [i for i, d in enumerate(source[1:], 1) if d != 1]
    ones = [i for i, d in enumerate(source[1:], 1) if d == 1]
    if [source[i] for i in big] != [d for d in target[1:] if d != 1]:
        return None
    big_it, ones_it = iter(big), iter(ones)
    return (0, *(next(ones_it) if d == 1 else next(big_it) for d in target[1:]))


def _per_channel(c: np.ndarray, v: Value) -> np.ndarray:
    """The constant of `x op c` as one value per physical channel (the last axis), or Unmapped."""
    shape = tuple(int(d) if d is not None else 1 for d in v.tensor.shape)
    logical = tuple(shape[p] for p in v.perm)
    full = np.broadcast_to(c, logical) if c.ndim <= len(logical) else None
    if full is None:
        raise Unmapped(f"a constant of shape {c.shape}")
    phys = np.transpose(full, np.argsort(v.perm)).reshape(-1, shape[-1])
    if not np.all(phys == phys[:1]):
        raise Unmapped(f"a constant of shape {c.shape} that varies over positions")
    return np.ascontiguousarray(phys[0], dtype=np.float32)


def _scale_out(layer, kernel: np.ndarray, vec: np.ndarray) -> np.ndarray:
    """`kernel` with each output channel multiplied by `vec`."""
    if type(layer).__name__ == "DepthwiseConv2D":
        return kernel * vec.reshape(kernel.shape[2], kernel.shape[3])
    return kernel * vec
