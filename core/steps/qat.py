"""Quantization-aware training (tfmot), alone or keeping earlier work.

`preserve="auto"` picks tfmot's collaborative scheme from the artifact's history: after pruning,
pruning-preserving QAT (PQAT); after clustering, cluster-preserving QAT (CQAT, or PCQAT when the
model was pruned too). The result is a Keras model with fake-quant wrappers; the quantize step
converts it to int8 with the learned ranges.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.artifact import KERAS
from core.errors import ConversionError
from core.params import param
from core.steps.base import Context, Progress, Step
from core.steps.training import MAX_BATCH, MAX_EPOCHS, copy_model, fine_tune, sparsity
from core.tf_env import tfmot

PRESERVE = ("auto", "none", "sparsity", "clusters", "sparsity+clusters")


@dataclass
class QatParams:
    epochs: int = param(1, "fine-tuning epochs", min=0, max=MAX_EPOCHS, unit="epochs")
    batch_size: int = param(32, "fine-tuning batch size", min=1, max=MAX_BATCH)
    learning_rate: float = param(1e-4, "fine-tuning learning rate", min=1e-7, max=1.0)
    preserve: str = param("auto", "keep earlier work: sparsity (PQAT), clusters (CQAT), both (PCQAT); "
                          "auto picks from the model's history", choices=PRESERVE)


def scheme_for(artifact, preserve: str) -> str:
    if preserve != "auto":
        return preserve
    pruned, clustered = artifact.applied("prune"), artifact.applied("cluster")
    if clustered:
        return "sparsity+clusters" if pruned else "clusters"
    return "sparsity" if pruned else "none"


class QatStep(Step):
    name = "qat"
    title = "Quantization-aware training"
    takes = KERAS
    gives = KERAS
    Params = QatParams

    def check_order(self, previous):
        if any(s.name == "qat" for s in previous):
            return "the model is already quantization-aware; remove the second 'qat'."
        return None

    def run(self, artifact, ctx: Context) -> list:
        p = self.params
        q = tfmot().quantization.keras
        scheme = scheme_for(artifact, p.preserve)
        model = copy_model(artifact.model)
        try:
            if scheme == "none":
                qat = q.quantize_model(model)
            else:
                combine = tfmot().experimental.combine
                schemes = {"sparsity": combine.Default8BitPrunePreserveQuantizeScheme(),
                           "clusters": combine.Default8BitClusterPreserveQuantizeScheme(),
                           "sparsity+clusters": combine.Default8BitClusterPreserveQuantizeScheme(True)}
                qat = q.quantize_apply(q.quantize_annotate_model(model), schemes[scheme])
        except (RuntimeError, ValueError) as exc:
            raise ConversionError(_unsupported_message(str(exc), model)) from None
        ctx.log(f"qat: scheme {'default 8-bit' if scheme == 'none' else scheme + '-preserving'}")
        fine_tune(qat, ctx, self.name, epochs=p.epochs, batch_size=p.batch_size,
                  learning_rate=p.learning_rate)
        info = {"scheme": scheme}
        if "sparsity" in scheme:
            info["sparsity"] = {layer.name: round(sparsity(w.numpy()), 4) for layer in qat.layers
                                for w in layer.weights if w.name.endswith("kernel:0")}
        ctx.progress(Progress(self.name, "done", 1.0))
        return [artifact.derive(kind=KERAS, name="qat", step="qat" + ("" if scheme == "none" else f":{scheme}"),
                                model=qat, info=info)]


def _unsupported_message(text: str, model) -> str:
    """Name the layer tfmot cannot quantize, and its type, instead of a stack trace."""
    m = re.search(r"Layer (\S+?):?<class '([^']+)'>", text) or re.search(r"[Ll]ayer ['\"]?(\w+)", text)
    if m:
        name = m.group(1).rstrip(":")
        kind = m.group(2).rsplit(".", 1)[-1] if m.lastindex and m.lastindex > 1 else next(
            (type(layer).__name__ for layer in model.layers if layer.name == name), "unknown type")
        return (f"Quantization-aware training cannot quantize layer '{name}' ({kind}). Leave QAT out "
                "and use post-training quantization (full-int keeps unsupported layers in float).")
    return f"Quantization-aware training failed: {text.splitlines()[0][:300]}"
