"""Small synthetic int8 models whose file order or greedy plan is far from the memory lower bound.

Shared by bench/memory.py and the tests. Built with Keras, converted by the real TFLite converter.
"""

from __future__ import annotations

import numpy as np


def _dataset(shape):
    from core.data import Dataset

    x = np.random.default_rng(0).uniform(0, 1, (64, *shape)).astype(np.float32)
    y = np.zeros(64, int)
    return Dataset("random", x, y, x[:8], y[:8])


def _convert(model, shape) -> bytes:
    from core.steps.quantize import convert

    return convert(model, "int8", _dataset(shape))


def breadth_first_branches(widths=(48, 32, 16), size=24) -> bytes:
    """Parallel branches whose wide first convs are all created (and so run) before any narrows."""
    from core.tf_env import keras, set_seed

    k = keras()
    set_seed(0)
    inp = k.Input((size, size, 3))
    wide = [k.layers.Conv2D(w, 3, padding="same", activation="relu")(inp) for w in widths]
    narrow = [k.layers.Conv2D(4, 1, activation="relu")(x) for x in wide]
    x = k.layers.GlobalAveragePooling2D()(k.layers.Concatenate()(narrow))
    return _convert(k.Model(inp, k.layers.Dense(10)(x)), (size, size, 3))


def inception_block(size=32) -> bytes:
    """An Inception-like block: 1x1, 3x3 and a wide 1x1 bottleneck path of different widths."""
    from core.tf_env import keras, set_seed

    k = keras()
    set_seed(0)
    inp = k.Input((size, size, 3))
    b1 = k.layers.Conv2D(32, 1, activation="relu")(inp)
    b2 = k.layers.Conv2D(24, 3, padding="same", activation="relu")(inp)
    b3 = k.layers.Conv2D(40, 1, activation="relu")(inp)
    b1 = k.layers.Conv2D(4, 1, activation="relu")(b1)
    b2 = k.layers.Conv2D(4, 3, padding="same", activation="relu")(b2)
    b3 = k.layers.Conv2D(4, 1, activation="relu")(b3)
    x = k.layers.GlobalAveragePooling2D()(k.layers.Concatenate()([b1, b2, b3]))
    return _convert(k.Model(inp, k.layers.Dense(10)(x)), (size, size, 3))


def wide_then_narrow_chain(size=32, chain=6) -> bytes:
    """A wide early layer feeding a long narrow chain, with a skip connection over it."""
    from core.tf_env import keras, set_seed

    k = keras()
    set_seed(0)
    inp = k.Input((size, size, 1))
    w = k.layers.Conv2D(16, 3, padding="same", activation="relu")(inp)
    x = k.layers.Conv2D(4, 3, padding="same", activation="relu")(w)
    for _ in range(chain):
        x = k.layers.Conv2D(4, 3, padding="same", activation="relu")(x)
    x = k.layers.Add()([w, k.layers.Conv2D(16, 1)(x)])
    x = k.layers.GlobalAveragePooling2D()(x)
    return _convert(k.Model(inp, k.layers.Dense(10)(x)), (size, size, 1))


def long_chain_graph(n_ops=1000):
    """A 1,000-operator graph (plain data, no conversion) for timing the analysis."""
    from core.analysis.graph import Graph, Op, Tensor

    tensors = [Tensor(i, f"t{i}", (1, 8 + (i % 7), 8, 4), "int8", (8 + (i % 7)) * 32, False, False, 0)
               for i in range(n_ops + 1)]
    ops = [Op(i, "ADD", [i], [i + 1]) for i in range(n_ops)]
    return Graph(tensors, ops, [0], [n_ops])


SYNTHETIC = {
    "breadth-first branches": breadth_first_branches,
    "inception block": inception_block,
    "wide layer + narrow chain with skip": wide_then_narrow_chain,
}


def bottleneck_chain(widths=(24, 8, 8, 24, 8, 8, 24), size=32) -> bytes:
    """A chain that widens and narrows again: TFLM's size-ordered greedy plan fragments on it."""
    from core.tf_env import keras, set_seed

    k = keras()
    set_seed(0)
    inp = k.Input((size, size, 1))
    x = inp
    for w in widths:
        x = k.layers.Conv2D(w, 3, padding="same", activation="relu")(x)
    x = k.layers.GlobalAveragePooling2D()(x)
    return _convert(k.Model(inp, k.layers.Dense(10)(x)), (size, size, 1))


SYNTHETIC["bottleneck chain 24-8-8-24"] = bottleneck_chain
SYNTHETIC["chain 32-24-24-32-8"] = lambda: bottleneck_chain((32, 24, 24, 32, 8))
