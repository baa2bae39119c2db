"""Magnitude pruning (tfmot) with fine-tuning, then strip_pruning.

Pruning alone does not shrink a .tflite (zeros still take a byte each); it shows in the gzip size,
and the clustering and LUT-compression steps turn it into flash savings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from core.artifact import KERAS
from core.errors import SequenceError
from core.params import param
from core.steps.base import Context, Progress, Step
from core.steps.training import MAX_BATCH, MAX_EPOCHS, copy_model, fine_tune, kernel_layers, sparsity
from core.tf_env import keras, tfmot

SCHEDULES = ("polynomial", "constant")


@dataclass
class PruneParams:
    final_sparsity: float = param(0.8, "fraction of weights set to zero", min=0.0, max=1.0,
                                  max_exclusive=True)
    schedule: str = param("polynomial", "how sparsity grows: polynomial (PolynomialDecay) or "
                          "constant (ConstantSparsity)", choices=SCHEDULES)
    initial_sparsity: float = param(0.0, "sparsity at the start (polynomial schedule only)",
                                    min=0.0, max=1.0, max_exclusive=True)
    begin_step: int = param(0, "optimizer step where pruning starts", min=0, max=10_000_000, unit="steps")
    # -1: half way through fine-tuning, so the rest recovers at final sparsity
    end_step: int = param(-1, "optimizer step where the final sparsity is reached", min=1,
                          max=10_000_000, unit="steps", special={-1: "half way through fine-tuning"})
    frequency: int = param(0, "optimizer steps between mask updates", min=1, max=1_000_000,
                           unit="steps", special={0: "about ten updates over the schedule"})
    epochs: int = param(3, "fine-tuning epochs", min=1, max=MAX_EPOCHS, unit="epochs")
    batch_size: int = param(32, "fine-tuning batch size", min=1, max=MAX_BATCH)
    learning_rate: float = param(1e-3, "fine-tuning learning rate", min=1e-7, max=1.0)
    skip_layers: list = param([], "layers left dense (e.g. the first convolution)", kind="layers")
    layer_sparsity: dict = param({}, "a final sparsity of its own for some layers",
                                 kind="layer_values", min=0.0, max=1.0, max_exclusive=True)


class PruneStep(Step):
    name = "prune"
    title = "Magnitude pruning"
    takes = KERAS
    gives = KERAS
    primary = "final_sparsity"
    Params = PruneParams

    def validate_params(self):
        p = self.params
        if p.initial_sparsity > p.final_sparsity:
            raise SequenceError("Step 'prune': initial_sparsity must not exceed final_sparsity "
                                f"({p.initial_sparsity} > {p.final_sparsity}).")
        if p.end_step != -1 and p.end_step <= p.begin_step:
            raise SequenceError(f"Step 'prune': end_step ({p.end_step}) must come after begin_step "
                                f"({p.begin_step}), or be -1.")

    def schedule_steps(self, n_train: int) -> tuple[int, int, int]:
        """(begin, end, frequency) in optimizer steps for `n_train` training samples."""
        p = self.params
        total = p.epochs * math.ceil(n_train / p.batch_size)
        begin = min(max(0, p.begin_step), total - 1)
        end = p.end_step if p.end_step >= 0 else begin + int(0.5 * (total - begin))
        end = min(max(end, begin + 1), total - 1)
        freq = p.frequency or max(1, (end - begin) // 10)
        end = begin + ((end - begin) // freq) * freq  # the last mask update lands exactly on end
        return begin, end, freq

    def _schedule(self, target: float, begin: int, end: int, freq: int):
        s = tfmot().sparsity.keras
        if self.params.schedule == "constant":
            return s.ConstantSparsity(target, begin_step=begin, end_step=end, frequency=freq)
        return s.PolynomialDecay(min(self.params.initial_sparsity, target), target,
                                 begin_step=begin, end_step=end, frequency=freq)

    def run(self, artifact, ctx: Context) -> list:
        p = self.params
        s = tfmot().sparsity.keras
        model = copy_model(artifact.model)
        names = {layer.name for layer in model.layers}
        unknown = sorted((set(p.skip_layers) | set(p.layer_sparsity)) - names)
        if unknown:
            raise SequenceError(f"Pruning: no layer named {', '.join(unknown)} in the model; its layers are "
                                f"{', '.join(layer.name for layer in model.layers)}.")
        begin, end, freq = self.schedule_steps(len(ctx.dataset.x_train) if ctx.dataset is not None else 1)
        targets = {layer.name: p.layer_sparsity.get(layer.name, p.final_sparsity)
                   for layer in kernel_layers(model) if layer.name not in p.skip_layers}
        targets = {n: t for n, t in targets.items() if t > 0}
        if not targets:
            raise SequenceError("Pruning: no layer left to prune (every kernel layer is skipped or at 0).")

        def wrap(layer):  # `model` is our own copy: wrapping its built layers keeps their weights
            if layer.name in targets:
                return s.prune_low_magnitude(layer, pruning_schedule=self._schedule(targets[layer.name],
                                                                                     begin, end, freq))
            return layer

        pruned = keras().models.clone_model(model, clone_function=wrap)
        ctx.log(f"prune: {len(targets)} layer(s), schedule {p.schedule} to {p.final_sparsity:.0%} "
                f"between steps {begin} and {end} every {freq}")
        fine_tune(pruned, ctx, self.name, epochs=p.epochs, batch_size=p.batch_size,
                  learning_rate=p.learning_rate, callbacks=[s.UpdatePruningStep()])
        stripped = s.strip_pruning(pruned)
        reached = {layer.name: round(sparsity(layer.get_weights()[0]), 4)
                   for layer in kernel_layers(stripped) if layer.name in targets}
        for name, value in reached.items():
            ctx.log(f"prune: {name} sparsity {value:.1%} (target {targets[name]:.0%})")
        ctx.progress(Progress(self.name, "done", 1.0))
        info = {"sparsity": reached, "targets": targets, "schedule": [begin, end, freq]}
        return [artifact.derive(kind=KERAS, name="pruned", step=f"prune:{p.final_sparsity}",
                                model=stripped, info=info)]

