"""Channel pruning: remove whole filters, depthwise channels and Dense units, and rebuild a
physically smaller model with the surviving weights copied (no masks), then fine-tune.

Unlike magnitude pruning, what is removed is gone from the .tflite: its weights (flash), the
activations it wrote (arena) and the multiply-accumulates that made them (instructions) all go
down together. Channels that must stay equal are pruned as one group (core/steps/channel_groups.py);
each group keeps its most important channels, by the L1 or L2 norm of the filters that make them,
by BatchNorm's scale where the group has one, or by a first-order Taylor estimate of the loss.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass

import numpy as np

from core.artifact import KERAS
from core.errors import SequenceError
from core.params import param
from core.steps.base import Context, Progress, Step
from core.steps.channel_groups import Analysis, Group, analyse
from core.steps.training import MAX_BATCH, MAX_EPOCHS, fine_tune
from core.tf_env import keras

IMPORTANCE = ("l1", "l2", "bn", "taylor")
TAYLOR_SAMPLES = 512  # training samples the Taylor scores average over: stable ranks, a second or two


@dataclass
class ChannelParams:
    keep: float = param(0.5, "fraction of each group's channels kept", min=0.01, max=1.0)
    importance: str = param("l1", "which channels stay: the largest filters by L1 or L2 norm, by "
                            "BatchNorm's scale |gamma| where the group has a BatchNorm (else L1), or by "
                            "how much the loss changes without them (first-order Taylor; needs labelled data)",
                            choices=IMPORTANCE)
    min_channels: int = param(1, "fewest channels a group keeps", min=1, max=4096, unit="channels")
    layer_keep: dict = param({}, "a kept fraction of its own for the group a layer makes",
                             kind="layer_values", min=0.01, max=1.0)
    # A budget replaces `keep`: channels go step by step until the int8 .tflite fits (measured).
    flash_budget: int = param(0, "cut until the int8 .tflite (stripped) fits this many bytes of flash", min=512,
                              max=1 << 30, unit="B", special={0: "no budget"})
    arena_budget: int = param(0, "cut until TFLM's arena for the int8 .tflite fits this many bytes (on the "
                              "emulated core when the device has one)", min=512, max=1 << 30, unit="B",
                              special={0: "no budget"})
    budget_of: str = param("model", "what the flash and arena budgets count: the int8 model's bytes and its "
                           "arena, or the whole firmware (model + the TFLM code it links; arena + TFLM's own RAM "
                           "+ stack), measured on the device's emulated core", choices=("model", "firmware"))
    instructions_budget: int = param(0, "cut until one inference takes at most this many instructions on the "
                                     "device's emulated core", min=1000, max=2_000_000_000, unit="instructions",
                                     special={0: "no budget"})
    spatial: bool = param(False, "budget mode: also crop the input's borders where a Flatten -> Dense reads "
                          "the map (whole rows or columns of it; their mean contribution goes into the bias)")
    crop_variance: float = param(2.0, "spatial: the cropped border may hold at most this share of the training "
                                 "inputs' variance (what the data says is there)", min=0.0, max=100.0, unit="%")
    epochs: int = param(3, "fine-tuning epochs after the cut (0: none)", min=0, max=MAX_EPOCHS, unit="epochs")
    round_epochs: int = param(1, "budget mode: fine-tuning epochs of each round's winner before the next "
                              "round ranks channels again (0: none)", min=0, max=MAX_EPOCHS, unit="epochs")
    distill: bool = param(False, "fine-tune towards the original's outputs (distillation; needs no labels) "
                          "instead of the labels")
    batch_size: int = param(32, "fine-tuning batch size", min=1, max=MAX_BATCH)
    learning_rate: float = param(1e-3, "fine-tuning learning rate", min=1e-7, max=1.0)


def _model_terms(p, path: list) -> dict:
    """The budget a later step must not undo, in the model's own bytes and arena (a firmware
    budget less the TFLM code and runtime RAM measured on the way)."""
    code, runtime = path[-1].get("code", 0), path[-1].get("runtime", 0)
    return {"flash": (p.flash_budget - code) if p.flash_budget else None,
            "arena": (p.arena_budget - runtime) if p.arena_budget else None}


def scorer(model, how: str, ctx: Context | None = None):
    """`score(group)` -> one score per channel of the group, larger stays. Taylor scores are
    computed once per model, for every group, on the training data."""
    if how != "taylor":
        return lambda group: importance(model, group, how)
    taylor = taylor_scores(model, ctx)
    return lambda group: np.sum([taylor[n] / (taylor[n].mean() or 1.0) for n in group.producers], axis=0)


def taylor_scores(model, ctx: Context | None) -> dict[str, np.ndarray]:
    """Per layer that makes channels: the first-order Taylor estimate of the loss change when a
    channel is removed, |mean over positions of activation x gradient|, averaged over samples
    (Molchanov et al., "Pruning Convolutional Neural Networks for Resource Efficient Inference", 2017)."""
    import tensorflow as tf

    from core.steps.training import outputs_logits

    ds = ctx.dataset if ctx is not None else None
    if ds is None or not len(ds.x_train) or len(ds.y_train) != len(ds.x_train):
        raise SequenceError("Channel pruning: Taylor importance weighs each channel by the loss on labelled "
                            "data: choose a dataset with labels, or importance l1, l2 or bn.")
    k = keras()
    names = [layer.name for layer in model.layers if type(layer).__name__ in PRODUCERS]
    probe = k.Model(model.inputs, [model.get_layer(n).output for n in names] + [model.outputs[0]])
    classes = ctx.task in (None, "classification")
    loss_fn = (k.losses.SparseCategoricalCrossentropy(from_logits=outputs_logits(model)) if classes
               else k.losses.MeanSquaredError())
    x, y = ds.x_train[:TAYLOR_SAMPLES], ds.y_train[:TAYLOR_SAMPLES]
    sums = {n: 0.0 for n in names}
    for start in range(0, len(x), 64):
        xb, yb = tf.constant(x[start:start + 64]), tf.constant(y[start:start + 64])
        with tf.GradientTape() as tape:
            *acts, pred = probe(xb, training=False)
            loss = loss_fn(yb, pred)
        grads = tape.gradient(loss, acts)
        for n, a, g in zip(names, acts, grads):
            contribution = tf.reduce_mean(a * g, axis=list(range(1, len(a.shape) - 1)))  # [batch, channels]
            sums[n] = sums[n] + np.abs(contribution.numpy()).sum(axis=0)
    return {n: np.asarray(v, np.float64) / len(x) for n, v in sums.items()}


PRODUCERS = ("Conv2D", "Conv1D", "DepthwiseConv2D", "SeparableConv2D", "Dense")


def importance(model, group: Group, how: str) -> np.ndarray:
    """One score per channel of `group` by a weight norm or BatchNorm's scale: larger stays."""
    if how == "bn":
        bns = [model.get_layer(n) for n, role in group.members if role == "bn"]
        gammas = [b.gamma.numpy() for b in bns if getattr(b, "gamma", None) is not None]
        if gammas:
            return np.mean([np.abs(g) for g in gammas], axis=0)
    scores = []
    for name in group.producers:
        kernel = _kernel(model.get_layer(name))
        flat = kernel.reshape(-1, kernel.shape[-1])
        norm = np.abs(flat).sum(axis=0) if how != "l2" else np.sqrt((flat ** 2).sum(axis=0))
        scores.append(norm / (norm.mean() or 1.0))  # each producer counts alike, whatever its scale
    return np.sum(scores, axis=0)


def choose(model, analysis: Analysis, p: ChannelParams, ctx: Context | None = None) -> dict[str, np.ndarray]:
    """Group name -> the sorted channel indices it keeps."""
    kept = {}
    score = scorer(model, p.importance, ctx)
    for g in analysis.groups:
        fraction = next((p.layer_keep[n] for n in g.producers if n in p.layer_keep), p.keep)
        n = min(g.channels, max(p.min_channels, int(round(g.channels * fraction))))
        order = np.argsort(-score(g), kind="stable")
        kept[g.name] = np.sort(order[:n])
    return kept


def rebuild(model, analysis: Analysis, kept: dict[str, np.ndarray]):
    """A new model with each group cut to its kept channels, every surviving weight copied."""
    k = keras()
    out_of, member_of = {}, {}
    for g in analysis.groups:
        keep = kept[g.name]
        for name in g.producers:
            out_of[name] = keep
        for name, role in g.members:
            member_of[name] = keep
    in_of = {layer: analysis.rows(layer, kept) for layer in analysis.layouts}
    config = copy.deepcopy(model.get_config())
    for entry in config["layers"]:
        cfg = entry["config"]
        if cfg["name"] in out_of:
            cfg["units" if entry["class_name"] == "Dense" else "filters"] = int(len(out_of[cfg["name"]]))
    new = (k.Sequential if isinstance(model, k.Sequential) else k.Model).from_config(config)
    for layer in new.layers:
        old = model.get_layer(layer.name)
        weights = old.get_weights()
        cls = type(old).__name__
        if layer.name in in_of:
            weights = _cut_input(cls, old, weights, in_of[layer.name])
        if layer.name in out_of:
            weights = _cut_output(cls, weights, out_of[layer.name])
        if layer.name in member_of:
            weights = [w[..., member_of[layer.name], :] if w.ndim == 4 else w[member_of[layer.name]] for w in weights]
        layer.set_weights(weights)
    return new


def _cut_input(cls: str, layer, weights: list, rows: np.ndarray) -> list:
    if cls == "Dense":
        return [weights[0][rows, :], *weights[1:]]
    if cls == "SeparableConv2D":
        dm = int(layer.get_config().get("depth_multiplier", 1))
        point_rows = np.array([c * dm + j for c in rows for j in range(dm)])
        return [weights[0][:, :, rows, :], weights[1][:, :, point_rows, :], *weights[2:]]
    return [weights[0][..., rows, :], *weights[1:]]  # Conv2D, Conv1D: (..., in, out)


def _cut_output(cls: str, weights: list, keep: np.ndarray) -> list:
    if cls == "SeparableConv2D":  # depthwise, pointwise, bias: the pointwise makes the channels
        return [weights[0], weights[1][..., keep], *[w[keep] for w in weights[2:]]]
    return [weights[0][..., keep], *[w[keep] for w in weights[1:]]]


def _kernel(layer) -> np.ndarray:
    w = layer.get_weights()
    return w[1] if type(layer).__name__ == "SeparableConv2D" else w[0]


def distill(student, teacher, ctx: Context, p: ChannelParams) -> None:
    """Fine-tune `student` towards `teacher`'s outputs on the training inputs: their logits by mean
    squared error (or their probabilities, when the model ends in a softmax, by KL divergence)."""
    from core.steps.training import outputs_logits

    if ctx.dataset is None or not len(ctx.dataset.x_train):
        raise SequenceError("Channel pruning: distillation fine-tunes on your inputs: choose a dataset "
                            "(labels are not needed).")
    k = keras()
    x = ctx.dataset.x_train
    soft = teacher.predict(x, verbose=0, batch_size=256)
    loss = "mse" if outputs_logits(teacher) else k.losses.KLDivergence()
    student.compile(optimizer=k.optimizers.Adam(p.learning_rate), loss=loss)
    fine_tune(student, ctx, "channels", epochs=p.epochs, batch_size=p.batch_size, learning_rate=p.learning_rate,
              compile=False, data=(x, soft))
    ctx.log(f"channels: distilled from the original for {p.epochs} epoch(s)")


def parameter_count(model) -> int:
    return int(sum(np.prod(w.shape) for w in model.get_weights()))


class ChannelStep(Step):
    """Channels removed by a ratio or to a measured budget; see the module's text."""

    name = "channels"
    title = "Channel pruning (whole filters and units removed)"
    takes = KERAS
    gives = KERAS
    primary = "keep"
    Params = ChannelParams

    def _tune(self, small, original, ctx: Context, epochs: int) -> None:
        p = self.params
        if epochs and p.distill:
            distill(small, original, ctx, dataclasses.replace(p, epochs=epochs))
        elif epochs:
            fine_tune(small, ctx, self.name, epochs=epochs, batch_size=p.batch_size, learning_rate=p.learning_rate)

    def run(self, artifact, ctx: Context) -> list:
        p = self.params
        model = artifact.model
        analysis = analyse(model)
        producers = {n for g in analysis.groups for n in g.producers}
        unknown = sorted(set(p.layer_keep) - {layer.name for layer in model.layers})
        if unknown:
            raise SequenceError(f"Channel pruning: no layer named {', '.join(unknown)} in the model.")
        not_makers = sorted(set(p.layer_keep) - producers)
        for name in not_makers:
            ctx.log(f"channels: layer_keep for '{name}' is not used: it makes no prunable channel group")
        for name, cls, why in analysis.left_whole:
            ctx.log(f"channels: left whole at {name} ({cls}): {why}")
        if not analysis.groups:
            raise SequenceError("Channel pruning: this model has no channel group that can be cut (every "
                                "convolution or Dense feeds something whose channels must stay, e.g. the "
                                "output, a Concatenate or a Reshape); see the log.")
        ctx.progress(Progress(self.name, f"cutting {len(analysis.groups)} channel group(s)", None))
        path = []
        if p.flash_budget or p.arena_budget or p.instructions_budget:
            from core.steps.channel_budget import fit

            small, path = fit(model, p, ctx, analyse=analyse, scorer=lambda m: scorer(m, p.importance, ctx),
                              rebuild=rebuild,
                              tune=lambda m, epochs, c: self._tune(m, model, c, epochs))
        else:
            if p.spatial:
                ctx.log("channels: spatial cropping is chosen by the budget mode; with a ratio it is not used")
            small = rebuild(model, analysis, choose(model, analysis, p, ctx))
        after_groups = {g.name: g.channels for g in analyse(small).groups}
        before, after = parameter_count(model), parameter_count(small)
        cut = {g.name: {"layers": g.producers + [n for n, _ in g.members], "channels": g.channels,
                        "kept": int(after_groups.get(g.name, g.channels))} for g in analysis.groups}
        for name, c in cut.items():
            ctx.log(f"channels: group {name} ({', '.join(c['layers'])}): {c['channels']} -> {c['kept']} channels")
        from core.steps.channel_crop import chain

        cropped = chain(small).crop if chain(small) is not None else [0, 0, 0, 0]
        if any(cropped):
            ctx.log("channels: input borders cropped (top, bottom, left, right): " + ", ".join(map(str, cropped)))
        ctx.log(f"channels: {before:,} -> {after:,} parameters")
        self._tune(small, model, ctx, p.epochs)
        ctx.progress(Progress(self.name, "done", 1.0))
        info = {"groups": cut, "params_before": before, "params_after": after, "path": path, "crop": cropped,
                # what later steps must not undo (the graph step's faster forms respect it)
                "budget": _model_terms(p, path) if path else None,
                "left_whole": [list(x) for x in analysis.left_whole]}
        how = (f"flash<={p.flash_budget},arena<={p.arena_budget},instructions<={p.instructions_budget}"
               if path else str(p.keep))
        return [artifact.derive(kind=KERAS, name="channels", step=f"channels:{how}", model=small, info=info)]
