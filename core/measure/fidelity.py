"""Fidelity of a variant to the original, on the same inputs, with or without labels.

The figures ST Edge AI's `validate` reports, with the same names and definitions, computed on the
dequantized outputs flattened per output: `cos` (cosine similarity), `snr` (signal-to-noise ratio
in dB: 10 log10(sum r^2 / sum (r - v)^2)), `l2r` (relative L2 error: ||r - v|| / ||r||) and, for
classifiers, `top1` (share of inputs whose top-1 class equals the original's).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np


@dataclass
class Fidelity:
    samples: int
    inputs: str  # "test split" or "synthetic (no data)"
    cos: float
    l2r: float
    snr: float | None  # None: identical outputs (no noise)
    top1: float | None = None  # classifiers only
    output: int | None = None  # multi-output models: which output these figures are (the worst)
    per_output: list | None = None  # multi-output models: the figures of each output (canonical order)

    def to_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        snr = "identical" if self.snr is None else f"SNR {self.snr:.1f} dB"
        top1 = "" if self.top1 is None else f"top-1 agreement {self.top1 * 100:.1f}%, "
        which = "" if self.output is None else f"output {self.output} (the worst of {len(self.per_output)}): "
        return f"{which}{top1}cos {self.cos:.4f}, {snr}, l2r {self.l2r:.4f} ({self.samples} {self.inputs} inputs)"


def fidelity(reference, variant, inputs: str = "test split") -> Fidelity:
    """Compare a variant's outputs with the original's (same inputs, same order, first axis = sample).
    Lists hold one array per output: each is compared, and the headline is the lowest cosine's."""
    if isinstance(reference, list) or isinstance(variant, list):
        if not (isinstance(reference, list) and isinstance(variant, list) and len(reference) == len(variant)):
            raise ValueError("outputs differ in number between the original and the variant")
        each = [_one(r, v, inputs) for r, v in zip(reference, variant)]
        worst = min(range(len(each)), key=lambda k: each[k].cos)
        head = each[worst]
        return Fidelity(head.samples, inputs, head.cos, head.l2r, head.snr, head.top1, worst,
                        [f.to_dict() for f in each])
    return _one(reference, variant, inputs)


def _one(reference: np.ndarray, variant: np.ndarray, inputs: str) -> Fidelity:
    r = np.asarray(reference, np.float64).reshape(len(reference), -1)
    v = np.asarray(variant, np.float64).reshape(len(variant), -1)
    if r.shape != v.shape:
        raise ValueError(f"outputs differ in shape: {r.shape} vs {v.shape}")
    diff = float(np.sum((r - v) ** 2))
    power = float(np.sum(r ** 2))
    norms = math.sqrt(power) * math.sqrt(float(np.sum(v ** 2)))
    cos = float(np.sum(r * v) / norms) if norms else (1.0 if diff == 0 else 0.0)
    l2r = math.sqrt(diff / power) if power else (0.0 if diff == 0 else math.inf)
    snr = None if diff == 0 else (10 * math.log10(power / diff) if power else -math.inf)
    top1 = float(np.mean(r.argmax(axis=1) == v.argmax(axis=1))) if r.shape[1] > 1 else None
    return Fidelity(len(r), inputs, cos, l2r, snr, top1)
