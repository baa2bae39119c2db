"""Fine-tuned prefixes of a sequence, kept for the next run that begins with the same steps.

The search's trials share prefixes often (QAT then int8, QAT then float16; the same separable rank
under different quantizations), and fine-tuning is most of a trial's time. A hit returns the Keras
models those steps produced together with Keras' name counters as the steps left them, so a run
that reuses a prefix writes the same .tflite bytes as a fresh run of its recipe (tested).

Only Keras-to-Keras steps on a single model are kept: they are the costly ones, and every step
trains a copy of its input (core/steps/training.py), so a kept model is never changed later.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict

from core.tf_env import name_counters, set_name_counters


class Prefixes:
    """Bounded store (least recently used out): a few models of MCU size cost little memory."""

    def __init__(self, limit: int = 8):
        self.limit = limit
        self._kept: OrderedDict = OrderedDict()
        self.hits = self.misses = 0

    @staticmethod
    def key(recipe, upto: int) -> str:
        """What the first `upto` + 1 steps produce depends on the whole recipe but its later steps."""
        return dataclasses.replace(recipe, steps=list(recipe.steps[: upto + 1])).digest()

    def run(self, step, head, ctx, key: str) -> list:
        """`step.run(head, ctx)`, or what it returned for the same key before."""
        if key in self._kept:
            self._kept.move_to_end(key)
            outs, counters = self._kept[key]
            set_name_counters(counters)
            self.hits += 1
            ctx.log(f"{step.name}: reused the result of the same steps from an earlier run")
            return list(outs)
        outs = step.run(head, ctx)
        self.misses += 1
        self._kept[key] = (list(outs), name_counters())
        while len(self._kept) > self.limit:
            self._kept.popitem(last=False)
        return outs
