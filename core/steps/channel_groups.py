"""Which channels of a Keras model must be removed together, found from its config (no tracing).

Every layer output has a channel space (its last axis). A Conv2D, Conv1D, SeparableConv2D or Dense
makes a new one; BatchNormalization, a depthwise convolution (depth multiplier 1), activations,
pooling, padding and dropout pass theirs on; Add, Subtract, Multiply, Average, Maximum and
Minimum join their inputs' spaces into one (a residual block's channels are one group). Flatten
turns a space into strided rows of the Dense after it. A space that reaches a layer this does not
follow (Concatenate, Reshape, Softmax, Lambda, ...), the model's input or its output is fixed: its
channels all stay. A group is a space that some layer makes and nothing fixes.
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
    consumers: list = field(default_factory=list)  # (layer, role, spatial): "in" or "flat" (rows s*C + c)


@dataclass
class Analysis:
    groups: list
    left_whole: list  # (layer name, class, why): where groups stop being followed


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
    space = {}  # layer name -> its output's space, or ("flat", space, spatial size)
    left, consumers, members = [], [], []
    outputs = {layer.name for layer in model._output_layers} if hasattr(model, "_output_layers") else set()
    if not outputs:
        outputs = {model.layers[-1].name}

    def fix_input(src, name, cls, why):
        s = space.get(src)
        if s is None:
            return
        sp.fix(s[1] if isinstance(s, tuple) else s)
        left.append((name, cls, why))

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
            if isinstance(first, tuple):  # Flatten -> Dense: strided rows
                if cls == "Dense":
                    consumers.append((first[1], name, "flat", first[2]))
                else:
                    fix_input(inputs[0], name, cls, "reads a flattened tensor")
            else:
                consumers.append((first, name, "in", 0))
            space[name] = sp.new(maker=name)
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
        elif cls == "Flatten" and len(src) == 1 and not isinstance(first, tuple):
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
            s = space[name]
            sp.fix(s[1] if isinstance(s, tuple) else s)

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
    for s, layer, role, spatial in consumers:
        g = groups.get(sp.find(s))
        if g is not None:
            g.consumers.append((layer, role, spatial))
    seen = []
    for name, cls, why in left:
        if (name, cls, why) not in seen:
            seen.append((name, cls, why))
    return Analysis(list(groups.values()), seen)


def _layer(model, name):
    try:
        return model.get_layer(name)
    except ValueError:  # a Sequential model's InputLayer is in its config, not its layers
        return None


def _out_channels(layer) -> int:
    cfg = layer.get_config()
    return int(cfg.get("filters") or cfg.get("units"))
