"""Operations optimization: standard convolutions -> depthwise-separable (depthwise + pointwise).

The rewrite edits the model's config (Sequential or Functional alike), so every other layer and
connection stays as it was. A replaced kernel W[kh, kw, cin, cout] starts from its best rank-r
factorisation per input channel (SVD of W[:, :, c, :]), so fine-tuning starts close to the original.
Layers are tried one at a time; a replacement that costs more than `max_drop` accuracy points on a
held-out part of the training split is undone (the accuracy guard).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from core.artifact import KERAS
from core.errors import DataError
from core.params import param
from core.steps.base import Context, Progress, Step
from core.steps.training import MAX_BATCH, MAX_EPOCHS, accuracy, compile_model, fine_tune, outputs_logits, require_data
from core.tf_env import keras

VALIDATION_FRACTION = 0.1


@dataclass
class SeparableParams:
    rank: int = param(1, "depth multiplier: rank of the per-channel factorisation", min=1, max=16)
    epochs: int = param(2, "fine-tuning epochs after each replacement", min=0, max=MAX_EPOCHS,
                        unit="epochs")
    batch_size: int = param(32, "fine-tuning batch size", min=1, max=MAX_BATCH)
    learning_rate: float = param(5e-4, "fine-tuning learning rate", min=1e-7, max=1.0)
    max_drop: float = param(1.0, "accuracy a replacement may cost before it is undone", min=0.0,
                            max=100.0, unit="points")


def costs(layer, rank: int) -> dict:
    """Parameters and MACs of a Conv2D as it is and as depthwise(rank) + pointwise."""
    kh, kw, cin, cout = layer.kernel.shape
    oh, ow = layer.output_shape[1:3]
    bias = cout if layer.use_bias else 0
    return {"params_before": int(kh * kw * cin * cout + bias),
            "params_after": int(kh * kw * cin * rank + cin * rank * cout + bias),
            "macs_before": int(oh * ow * kh * kw * cin * cout),
            "macs_after": int(oh * ow * (kh * kw * cin * rank + cin * rank * cout))}


def candidates(model, rank: int) -> list:
    """Conv2D layers (used once, ungrouped) whose separable form has fewer params and MACs."""
    out = []
    for layer in model.layers:
        if type(layer).__name__ != "Conv2D" or getattr(layer, "groups", 1) != 1:
            continue
        if len(layer._inbound_nodes) > 1:  # shared layer: rewiring it would change other paths
            continue
        c = costs(layer, rank)
        if c["params_after"] < c["params_before"] and c["macs_after"] < c["macs_before"]:
            out.append(layer.name)
    return out


def factorize(kernel: np.ndarray, rank: int) -> tuple[np.ndarray, np.ndarray]:
    """Depthwise [kh, kw, cin, rank] and pointwise [1, 1, cin*rank, cout] kernels from W."""
    kh, kw, cin, cout = kernel.shape
    r = min(rank, kh * kw, cout)
    dw = np.zeros((kh, kw, cin, rank), np.float32)
    pw = np.zeros((1, 1, cin * rank, cout), np.float32)
    for c in range(cin):
        u, s, vt = np.linalg.svd(kernel[:, :, c, :].reshape(kh * kw, cout), full_matrices=False)
        root = np.sqrt(s[:r])
        dw[:, :, c, :r] = (u[:, :r] * root).reshape(kh, kw, r)
        pw[0, 0, c * rank:c * rank + r, :] = root[:, None] * vt[:r]
    return dw, pw


def rewrite(model, names: set, rank: int):
    """A new model with the named Conv2D layers split in two, weights carried over or factorised."""
    k = keras()
    config = copy.deepcopy(model.get_config())
    sequential = isinstance(model, k.Sequential)
    layers = []
    for entry in config["layers"]:
        name = entry["config"]["name"]
        if name not in names:
            layers.append(entry)
            continue
        conv = entry["config"]
        dw_cfg = {"name": f"{name}_dw", "kernel_size": conv["kernel_size"], "strides": conv["strides"],
                  "padding": conv["padding"], "data_format": conv.get("data_format"),
                  "dilation_rate": conv.get("dilation_rate", (1, 1)), "depth_multiplier": rank,
                  "use_bias": False, "activation": "linear", "dtype": conv.get("dtype")}
        if "batch_input_shape" in conv:
            dw_cfg["batch_input_shape"] = conv["batch_input_shape"]
        pw_cfg = {key: v for key, v in conv.items() if key != "batch_input_shape"}
        pw_cfg.update(kernel_size=(1, 1), strides=(1, 1), padding="valid", dilation_rate=(1, 1))
        dw = {"class_name": "DepthwiseConv2D", "config": dw_cfg}
        pw = dict(entry, config=pw_cfg)
        if not sequential:  # route the depthwise in front of the pointwise, which keeps the name
            dw.update(name=f"{name}_dw", inbound_nodes=entry["inbound_nodes"])
            pw["inbound_nodes"] = [[[f"{name}_dw", 0, 0, {}]]]
        layers += [dw, pw]
    config["layers"] = layers
    new = (k.Sequential if sequential else k.Model).from_config(config)
    for layer in new.layers:
        if layer.name in names:
            old = model.get_layer(layer.name)
            dw, pw = factorize(old.get_weights()[0], rank)
            new.get_layer(f"{layer.name}_dw").set_weights([dw])
            layer.set_weights([pw, *old.get_weights()[1:]])
        elif not layer.name.endswith("_dw") or layer.name[:-3] not in names:
            layer.set_weights(model.get_layer(layer.name).get_weights())
    return new


class SeparableStep(Step):
    name = "separable"
    title = "Depthwise-separable convolutions"
    takes = KERAS
    gives = KERAS
    Params = SeparableParams

    def check_order(self, previous):
        if any(s.name in ("qat", "prune", "cluster") for s in previous):
            return ("replace convolutions before pruning, clustering or QAT: the rewrite builds new "
                    "layers and would discard their wrappers and masks. Move 'separable' first.")
        return None

    def run(self, artifact, ctx: Context) -> list:
        p = self.params
        if ctx.task != "classification":
            raise DataError(f"Step 'separable' keeps or undoes each replacement by its accuracy; this model's "
                            f"task is {ctx.task}. Leave the step out, or set the task if it is a classifier.")
        ds = require_data(ctx, self.name)
        n_val = max(1, int(len(ds.x_train) * VALIDATION_FRACTION))
        x_val, y_val = ds.x_train[-n_val:], ds.y_train[-n_val:]
        train = (ds.x_train[:-n_val], ds.y_train[:-n_val])
        from_logits = outputs_logits(artifact.model)
        current = artifact.model
        base = accuracy(current, x_val, y_val)
        names = candidates(current, p.rank)
        report = {}
        for layer in current.layers:
            if type(layer).__name__ == "Conv2D":
                report[layer.name] = dict(costs(layer, p.rank), replaced=False,
                                          reason="does not lower params and MACs")
        for i, name in enumerate(names):
            ctx.cancel.check()
            ctx.progress(Progress(self.name, f"replacing {name} ({i + 1}/{len(names)})", i / max(1, len(names))))
            trial = rewrite(current, {name}, p.rank)
            fine_tune(trial, ctx, self.name, epochs=p.epochs, batch_size=p.batch_size,
                      learning_rate=p.learning_rate, from_logits=from_logits, data=train)
            acc = accuracy(trial, x_val, y_val)
            drop = round((base - acc) * 100, 6)  # 0.915 - 0.905 must be 1.0, not 1.0000000000000009
            entry = report[name]
            entry.update(accuracy=round(acc, 4), drop_points=round(drop, 2))
            if drop <= p.max_drop:
                entry.update(replaced=True, reason="")
                current = trial
                ctx.log(f"separable: {name} replaced: params {entry['params_before']:,} -> "
                        f"{entry['params_after']:,}, MACs {entry['macs_before']:,} -> "
                        f"{entry['macs_after']:,}, validation accuracy {base:.4f} -> {acc:.4f}")
            else:
                entry["reason"] = f"costs {drop:.1f} accuracy points (guard {p.max_drop:g})"
                ctx.log(f"separable: {name} kept: {entry['reason']}")
        if current is artifact.model:
            ctx.log("separable: no convolution replaced; model unchanged")
            current = rewrite(current, set(), p.rank)  # a copy: the input artifact is never shared
            compile_model(current, p.learning_rate, from_logits)
        ctx.progress(Progress(self.name, "done", 1.0))
        return [artifact.derive(kind=KERAS, name="separable", step="separable", model=current,
                                info={"layers": report, "validation_accuracy_before": round(base, 4)})]
