"""A few samples to show beside the numbers: the inputs as the model sees them, their labels, and
what each variant predicts for them (class and confidence, anomaly score, or value)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SAMPLES = 8


@dataclass
class Preview:
    x: np.ndarray  # the first SAMPLES inputs (the first input of multi-input models)
    kind: str  # "image" (H, W[, 1 or 3]) or "signal" (anything else: drawn as a line)
    truth: list  # label text per sample, or "" when unlabelled
    source: str  # "test split" or "synthetic (no data)"


def take(dataset, probe, source: str) -> Preview | None:
    """The preview of a run's evaluation inputs: the dataset's test split, or the synthetic probe."""
    if dataset is not None:
        x, y = dataset.x_test, dataset.y_test
    elif probe is not None:
        x, y = probe, None
    else:
        return None
    x = x[0] if isinstance(x, list) else x
    n = min(SAMPLES, len(x))
    truth = [""] * n
    if y is not None and len(y) == len(x):
        names = list(getattr(dataset, "labels", None) or [])
        truth = [_label(v, names) for v in y[:n]]
    return Preview(np.asarray(x[:n], np.float32), kind_of(x.shape[1:]), truth, source)


def kind_of(shape) -> str:
    shape = tuple(shape)
    if len(shape) == 2 and min(shape) >= 4:
        return "image"
    if len(shape) == 3 and shape[2] in (1, 3) and min(shape[:2]) >= 4:
        return "image"
    return "signal"


def predictions(task: str, x, outputs, labels=()) -> list:
    """One short text per sample for the first SAMPLES outputs: 'cat 0.93', 'score 0.0123' or '3.41'."""
    if outputs is None:
        return []
    out = outputs[0] if isinstance(outputs, list) else outputs
    x = x[0] if isinstance(x, list) else x
    n = min(SAMPLES, len(out))
    rows = np.asarray(out[:n], np.float64).reshape(n, -1)
    if task == "anomaly":
        err = np.mean((np.asarray(x[:n], np.float64).reshape(n, -1) - rows) ** 2, axis=1)
        return [f"score {e:.4g}" for e in err]
    if task == "regression" or rows.shape[1] == 1:
        return [", ".join(f"{v:.3g}" for v in r[:3]) for r in rows]
    top = rows.argmax(axis=1)
    probs = rows if _probabilities(rows) else _softmax(rows)  # logits are shown as probabilities
    return [f"{_label(k, list(labels))} {probs[i, k]:.2f}" for i, k in enumerate(top)]


def _probabilities(rows: np.ndarray) -> bool:
    return bool(np.all(rows >= 0) and np.all(rows <= 1) and np.allclose(rows.sum(axis=1), 1, atol=0.02))


def _softmax(rows: np.ndarray) -> np.ndarray:
    e = np.exp(rows - rows.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def top_class(text: str) -> str:
    """The class part of a classification prediction text (for marking disagreements)."""
    return text.rsplit(" ", 1)[0]


def _label(v, names: list) -> str:
    if isinstance(v, (float, np.floating)) and not float(v).is_integer():
        return f"{float(v):.3g}"
    k = int(v)
    return str(names[k]) if 0 <= k < len(names) else str(k)
