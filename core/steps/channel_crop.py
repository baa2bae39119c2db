"""Cropping the input's borders of a network that reads its last feature map through Flatten ->
Dense: channel pruning's spatial counterpart, for the budget mode.

Where every layer from the input to the Flatten is a valid, stride-1 convolution, a pooling whose
window equals its stride, or a per-position layer (BatchNorm, activations, dropout), cropping the
input by a multiple of the pools' total stride removes whole border rows or columns of the map the
Dense reads, and leaves every other position's value exactly as it was. The Dense loses the rows of
the removed positions; what they contributed on average over the training inputs goes into its
bias. Flash (the Dense's rows), the arena (smaller maps) and instructions (fewer positions at every
layer) all fall; on images with empty borders (digits) the accuracy barely moves.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from core.steps.channel_groups import layer_graph
from core.tf_env import keras

CROP = "channels_crop"  # the Cropping2D this inserts after the input (updated, never stacked)
SIDES = ("top", "bottom", "left", "right")
PER_POSITION = ("BatchNormalization", "Activation", "ReLU", "LeakyReLU", "ELU", "Dropout", "SpatialDropout2D",
                "GaussianNoise")
MEAN_SAMPLES = 512


@dataclass
class Chain:
    flatten: str
    dense: str
    unit: int  # input pixels per position of the Flatten's map (the pools' total stride)
    map_shape: tuple  # (height, width, channels) of the map the Flatten reads
    crop: list  # [top, bottom, left, right] input pixels already cropped
    after: str  # the layer the crop follows: the input, or a Reshape that adds the channel axis


def chain(model) -> Chain | None:
    """The input -> Flatten -> Dense chain this can crop, or None."""
    graph = layer_graph(model)
    uses: dict = {}
    for _, _, _, inputs in graph:
        for i in inputs:
            uses[i] = uses.get(i, 0) + 1
    shape = model.input_shape
    if isinstance(shape, list) or len(shape) not in (3, 4) or not shape[1] or not shape[2]:
        return None
    h, w = int(shape[1]), int(shape[2])
    unit, crop, flatten = 1, [0, 0, 0, 0], None
    after, needs_channel_axis = "", len(shape) == 3  # "": first (a Sequential without an InputLayer entry)
    for name, cls, cfg, inputs in graph:
        if cls == "InputLayer":
            after = name
            continue
        if len(inputs) > 1 or any(uses.get(i, 0) != 1 for i in inputs):
            return None  # branches: not a plain chain
        if needs_channel_axis:  # a (height, width) input: only a Reshape to (height, width, 1) may come first
            if cls != "Reshape" or tuple(cfg.get("target_shape", ())) != (h, w, 1):
                return None
            after, needs_channel_axis = name, False
            continue
        if flatten is not None:
            if cls != "Dense" or inputs != [flatten] or not cfg.get("use_bias", True):
                return None  # without a bias, the removed rows' mean contribution has nowhere to go
            layer = model.get_layer(flatten)
            _, fh, fw, fc = layer.input_shape
            return Chain(flatten, name, unit, (int(fh), int(fw), int(fc)), crop, after)
        if cls == "Cropping2D" and name == CROP:
            (t, b), (left, right) = _pairs(cfg["cropping"])
            crop = [t, b, left, right]
            h, w = h - t - b, w - left - right
        elif cls in ("Conv2D", "DepthwiseConv2D", "SeparableConv2D"):
            if cfg.get("padding") != "valid" or tuple(cfg.get("strides", (1, 1))) != (1, 1) \
                    or tuple(cfg.get("dilation_rate", (1, 1))) != (1, 1):
                return None
            kh, kw = cfg["kernel_size"]
            h, w = h - kh + 1, w - kw + 1
        elif cls in ("MaxPooling2D", "AveragePooling2D"):
            pool, strides = tuple(cfg["pool_size"]), tuple(cfg.get("strides") or cfg["pool_size"])
            if cfg.get("padding") != "valid" or pool != strides or pool[0] != pool[1] or h % pool[0] or w % pool[1]:
                return None
            unit *= pool[0]
            h, w = h // pool[0], w // pool[1]
        elif cls == "Flatten":
            flatten = name
        elif cls not in PER_POSITION:
            return None
    return None


def sides(ch: Chain) -> list[str]:
    """The sides that can still lose a row or column of the map (one stays at least)."""
    h, w, _ = ch.map_shape
    return [s for s in SIDES if (h if s in ("top", "bottom") else w) > 1]


def removed_variance(ch: Chain, side: str, x: np.ndarray) -> float:
    """The share of the inputs' variance (summed over pixels) outside the window left after
    cropping `side` once more: what the crop would throw away of what the data says."""
    var = x.reshape(len(x), x.shape[1], x.shape[2], -1).var(axis=0).sum(axis=-1)
    t, b, left, right = ch.crop
    step = {"top": (ch.unit, 0, 0, 0), "bottom": (0, ch.unit, 0, 0), "left": (0, 0, ch.unit, 0),
            "right": (0, 0, 0, ch.unit)}[side]
    t, b, left, right = t + step[0], b + step[1], left + step[2], right + step[3]
    total = float(var.sum()) or 1.0
    return 1.0 - float(var[t:var.shape[0] - b, left:var.shape[1] - right].sum()) / total


def crop(model, ch: Chain, side: str, x: np.ndarray):
    """A new model with the input cropped by one map position on `side`; the Dense's rows for the
    removed positions are gone and their mean contribution over `x` is in its bias."""
    k = keras()
    h, w, c = ch.map_shape
    probe = k.Model(model.inputs, model.get_layer(ch.flatten).input)
    mean = probe.predict(x[:MEAN_SAMPLES], verbose=0, batch_size=256).mean(axis=0)  # (h, w, c)
    keep = np.ones((h, w), bool)
    keep[{"top": 0, "bottom": h - 1}.get(side, slice(None)), {"left": 0, "right": w - 1}.get(side, slice(None))] = False
    rows = np.repeat(keep.reshape(-1), c)  # channel-last flatten: row (i*w + j)*c + ch
    kernel, *rest = model.get_layer(ch.dense).get_weights()
    flat_mean = mean.reshape(-1)
    dense_weights = [kernel[rows]]
    if rest:
        dense_weights.append(rest[0] + flat_mean[~rows] @ kernel[~rows])
    new_crop = list(ch.crop)
    new_crop[SIDES.index(side)] += ch.unit
    config = _with_crop(model, new_crop, ch.after)
    new = (k.Sequential if isinstance(model, k.Sequential) else k.Model).from_config(config)
    for layer in new.layers:
        if layer.name == ch.dense:
            layer.set_weights(dense_weights)
        elif layer.name != CROP:
            layer.set_weights(model.get_layer(layer.name).get_weights())
    return new


def _pairs(cropping) -> tuple:
    if isinstance(cropping, int):
        return (cropping, cropping), (cropping, cropping)
    a, b = cropping
    a = (a, a) if isinstance(a, int) else tuple(a)
    b = (b, b) if isinstance(b, int) else tuple(b)
    return a, b


def _with_crop(model, crop: list, after: str) -> dict:
    """The model's config with its CROP layer set to `crop` (inserted after `after` if new; ""
    for a Sequential model without an InputLayer entry: first, with its input shape)."""
    config = copy.deepcopy(model.get_config())
    layers = config["layers"]
    cropping = ((crop[0], crop[1]), (crop[2], crop[3]))
    for entry in layers:
        if entry["config"]["name"] == CROP:
            entry["config"]["cropping"] = cropping
            return config
    entry = {"class_name": "Cropping2D", "config": {"name": CROP, "trainable": True, "dtype": "float32",
                                                    "cropping": cropping, "data_format": "channels_last"}}
    if "input_layers" not in config:  # Sequential: right after `after` (or first, with the input shape)
        at = next((i + 1 for i, e in enumerate(layers) if e["config"]["name"] == after), 0)
        if at == 0:
            entry["config"]["batch_input_shape"] = layers[0]["config"].pop("batch_input_shape")
        layers.insert(at, entry)
        return config
    source = after
    entry["name"] = CROP
    entry["inbound_nodes"] = [[[source, 0, 0, {}]]]
    for other in layers:
        for node in other.get("inbound_nodes", []):
            for ref in node:
                if ref[0] == source:
                    ref[0] = CROP
    at = next(i for i, e in enumerate(layers) if e["config"]["name"] == source) + 1
    layers.insert(at, entry)
    return config
