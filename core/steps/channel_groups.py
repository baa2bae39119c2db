"""Which channels of a Keras model must be removed together, found from its config (no tracing).

Every layer output has a channel space (its last axis). A Conv2D, Conv1D, SeparableConv2D or Dense
makes a new one; BatchNormalization, a depthwise convolution (depth multiplier 1), activations,
pooling, padding and dropout pass theirs on; Add, Subtract, Multiply, Average, Maximum and
Minimum join their inputs' spaces into one (a residual block's channels are one group). A
Concatenate on the channel axis lays its inputs' spaces side by side: each stays its own group, and
a layer reading the concatenation loses the rows of every segment's removed channels. Flatten
turns a space (or a concatenation) into strided rows of the Dense after it. A space that reaches a
layer this does not follow (Reshape, Softmax, Lambda, a BatchNorm after a Concatenate, ...), the
model's input or its output is fixed: its channels all stay. A group is a space that some layer
makes and nothing fixes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PRODUCERS = ("Conv2D", "Conv1D", "SeparableConv2D", "Dense")
PASS = ("Activation", "ReLU", "LeakyReLU", "ELU", "Dropout", "SpatialDropout1D", "SpatialDropout2D",
        "GaussianNoise", "MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D",
        "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D",
        "ZeroPadding1D", "ZeroPadding2D", "Cropping1D", "Cropping2D", "UpSampling1D", "UpSampling2D")
MERGES = ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum")


@dataclass
class Group:
    """Channels removed together: the layers that make them, and every layer that reads them."""

    name: str  # the first producer's layer name
    channels: int
    producers: list = field(default_factory=list)  # layer names whose output channels these are
    members: list = field(default_factory=list)  # (layer, role): "bn" or "depthwise": per-channel weights
    # (layer, role, spatial, offset, total): the layer reads channel c of this group as input row
    # offset + c ("in") or rows s * total + offset + c for each position s ("flat", after Flatten)
    consumers: list = field(default_factory=list)


@dataclass
class Analysis:
    groups: list
    left_whole: list  # (layer name, class, why): where groups stop being followed
    # layer -> (role, spatial, [(group name or None when whole, offset, channels)]): what each layer
    # that reads a group reads, segment by segment (one segment unless it reads a Concatenate)
    layouts: dict = field(default_factory=dict)

    def rows(self, layer: str, kept: dict):
        """The input rows (or channels) of `layer` that survive when each group keeps `kept[name]`."""
        import numpy as np

        role, spatial, segments = self.layouts[layer]
        total = sum(width for _, _, width in segments)
        cols = np.concatenate([offset + (kept[g] if g is not None else np.arange(width))
                               for g, offset, width in segments])
        return cols if role == "in" else np.array([s * total + c for s in range(spatial) for c in cols])


class _Spaces:
    """Union-find over channel spaces, each knowing if it is fixed and who makes it."""

    def __init__(self):
        self.parent, self.fixed, self.made_by = [], [], []

    def new(self, fixed: bool = False, maker: str | None = None) -> int:
        self.parent.append(len(self.parent))
        self.fixed.append(fixed)
        self.made_by.append([maker] if maker else [])
        return len(self.parent) - 1

    def find(self, s: int) -> int:
        while self.parent[s] != s:
            self.parent[s] = self.parent[self.parent[s]]
            s = self.parent[s]
        return s

    def join(self, a: int, b: int) -> int:
        a, b = self.find(a), self.find(b)
        if a != b:
            self.parent[b] = a
            self.fixed[a] = self.fixed[a] or self.fixed[b]
            self.made_by[a] += self.made_by[b]
        return a

    def fix(self, s: int) -> None:
        self.fixed[self.find(s)] = True


def layer_graph(model) -> list[tuple[str, str, dict, list[str]]]:
    """(name, class, config, input layer names) in model order, for Sequential and Functional."""
    config = model.get_config()
    entries = config["layers"]
    out, previous = [], None
    for e in entries:
        name = e["config"]["name"]
        if "inbound_nodes" in e:
            nodes = e["inbound_nodes"]
            if len(nodes) > 1:  # a shared layer: called on several inputs
                inputs = ["__shared__"]
            else:
                inputs = [n[0] for n in nodes[0]] if nodes else []
        else:  # Sequential: a chain
            inputs = [previous] if previous else []
        out.append((name, e["class_name"], e["config"], inputs))
        previous = name
    return out


def analyse(model) -> Analysis:
    sp = _Spaces()
    # layer name -> its output's space: an int, ("cat", [(space, channels), ...]) for a
    # concatenation, or ("flat", space or cat, spatial size) after Flatten
    space = {}
    left, reads, members = [], [], []  # reads: (layer, role, spatial, [(space, channels or None)])
    outputs = {layer.name for layer in model._output_layers} if hasattr(model, "_output_layers") else set()
    if not outputs:
        outputs = {model.layers[-1].name}

    def fix_any(s):
        if isinstance(s, tuple) and s[0] == "flat":
            fix_any(s[1])
        elif isinstance(s, tuple):
            for seg, _ in s[1]:
                sp.fix(seg)
        else:
            sp.fix(s)

    def fix_input(src, name, cls, why):
        s = space.get(src)
        if s is None:
            return
        fix_any(s)
        left.append((name, cls, why))

    def segments(s):
        return s[1] if isinstance(s, tuple) else [(s, None)]

    for name, cls, cfg, inputs in layer_graph(model):
        layer = _layer(model, name)
        if cls == "InputLayer" or not inputs:
            space[name] = sp.new(fixed=True)
            continue
        if inputs == ["__shared__"]:
            space[name] = sp.new(fixed=True)
            left.append((name, cls, "a shared layer (called more than once)"))
            continue
        src = [space[i] for i in inputs]
        first = src[0]
        if cls in PRODUCERS and len(src) == 1:
            if isinstance(first, tuple) and first[0] == "flat":  # Flatten -> Dense: strided rows
                if cls == "Dense":
                    reads.append((name, "flat", first[2], segments(first[1])))
                else:
                    fix_input(inputs[0], name, cls, "reads a flattened tensor")
            else:
                reads.append((name, "in", 0, segments(first)))
            space[name] = sp.new(maker=name)
        elif cls == "Concatenate" and _channel_axis(cfg, layer) and len(src) > 1 \
                and not any(isinstance(s, tuple) and s[0] == "flat" for s in src):
            segs = []
            for i, s in zip(inputs, src):
                segs += s[1] if isinstance(s, tuple) else [(s, _width(model, i))]
            if any(w is None for _, w in segs):
                for i in inputs:
                    fix_input(i, name, cls, "an input of unknown width")
                space[name] = sp.new(fixed=True)
            else:
                space[name] = ("cat", segs)
        elif cls == "DepthwiseConv2D" and len(src) == 1 and not isinstance(first, tuple):
            if int(cfg.get("depth_multiplier", 1)) == 1:
                members.append((first, name, "depthwise"))
                space[name] = first
            else:
                fix_input(inputs[0], name, cls, "a depth multiplier above 1")
                space[name] = sp.new(fixed=True)
        elif cls == "BatchNormalization" and len(src) == 1 and not isinstance(first, tuple):
            axis = cfg.get("axis", -1)
            axis = axis[0] if isinstance(axis, (list, tuple)) and len(axis) == 1 else axis
            rank = len(layer.input_shape) if layer is not None else 0
            if axis in (-1, rank - 1):
                members.append((first, name, "bn"))
                space[name] = first
            else:
                fix_input(inputs[0], name, cls, f"normalizes axis {axis}, not the channels")
                space[name] = sp.new(fixed=True)
        elif cls in PASS and len(src) == 1 and not (cls == "Activation" and cfg.get("activation") == "softmax"):
            space[name] = first
        elif cls == "Flatten" and len(src) == 1 and not (isinstance(first, tuple) and first[0] == "flat"):
            shape = layer.input_shape[1:]
            spatial = 1
            for d in shape[:-1]:
                spatial *= int(d) if d else 0
            if spatial > 0:
                space[name] = ("flat", first, spatial)
            else:
                fix_input(inputs[0], name, cls, "an input of unknown size")
                space[name] = sp.new(fixed=True)
        elif cls in MERGES and not any(isinstance(s, tuple) for s in src):
            joined = src[0]
            for s in src[1:]:
                joined = sp.join(joined, s)
            space[name] = joined
        else:
            for i in inputs:
                fix_input(i, name, cls, "not followed: its channels stay whole")
            space[name] = sp.new(fixed=True)
        if name in outputs:
            fix_any(space[name])

    groups = {}
    for s in range(len(sp.parent)):
        root = sp.find(s)
        if sp.fixed[root] or not sp.made_by[root] or root in groups:
            continue
        makers = sp.made_by[root]
        first = model.get_layer(makers[0])
        groups[root] = Group(makers[0], _out_channels(first), list(makers))
    for s, layer, role in members:
        g = groups.get(sp.find(s))
        if g is not None:
            g.members.append((layer, role))
    layouts = {}
    for layer, role, spatial, segs in reads:
        found = [groups.get(sp.find(s)) for s, _ in segs]
        if not any(found):
            continue
        widths = [w if w is not None else g.channels for (_, w), g in zip(segs, found)]
        total, offset, layout = sum(widths), 0, []
        for g, w in zip(found, widths):
            if g is not None:
                g.consumers.append((layer, role, spatial, offset, total))
            layout.append((g.name if g is not None else None, offset, w))
            offset += w
        layouts[layer] = (role, spatial, layout)
    seen = []
    for name, cls, why in left:
        if (name, cls, why) not in seen:
            seen.append((name, cls, why))
    return Analysis(list(groups.values()), seen, layouts)


def _channel_axis(cfg, layer) -> bool:
    axis = cfg.get("axis", -1)
    rank = len(layer.output_shape) if layer is not None else 0
    return axis in (-1, rank - 1)


def _width(model, name):
    layer = _layer(model, name)
    shape = getattr(layer, "output_shape", None) if layer is not None else None
    return int(shape[-1]) if shape and shape[-1] else None


def _layer(model, name):
    try:
        return model.get_layer(name)
    except ValueError:  # a Sequential model's InputLayer is in its config, not its layers
        return None


def _out_channels(layer) -> int:
    cfg = layer.get_config()
    return int(cfg.get("filters") or cfg.get("units"))
