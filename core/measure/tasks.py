"""What a model is for, and the figures that fit it.

- classification (softmax or logits over N classes): accuracy, per-class accuracy, confusion matrix;
- anomaly detection with an autoencoder (output shape equals input shape): the anomaly score is the
  reconstruction error (mean squared error per sample); its distribution, and ROC AUC with 0/1 labels;
- regression (numeric targets that are not class labels): MAE and RMSE.

The task is detected from the model's input and output shapes and can be set by the user
(recipe `task`, `--task`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from core.choices import TASKS  # noqa: F401  (read from here too)


@dataclass
class TaskScores:
    task: str
    per_class: list | None = None  # accuracy of each true class
    confusion: list | None = None  # confusion[true][predicted] counts
    auc: float | None = None  # anomaly detection with 0/1 labels
    score_mean: float | None = None  # anomaly score (reconstruction error) over the inputs
    score_p50: float | None = None
    score_p95: float | None = None
    mae: float | None = None  # regression
    rmse: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def detect(io, dataset=None) -> str:
    """'anomaly' for an autoencoder (output shape equal to input shape), 'regression' for data whose
    targets are not class labels, else 'classification'."""
    if dataset is not None and dataset.labelled and np.issubdtype(dataset.y_test.dtype, np.floating):
        return "regression"
    ins, outs = tuple(io.input_shape), tuple(getattr(io, "output_shape", ()) or ())
    if outs and len(ins) == len(outs) and all(a is None or b is None or a == b for a, b in zip(ins, outs)) \
            and int(np.prod([d or 1 for d in outs])) > 1:
        return "anomaly"
    return "classification"


def score(task: str, x: np.ndarray, outputs: np.ndarray, y: np.ndarray | None, classes: int = 0):
    """(TaskScores, top-1 accuracy or None) of `outputs` on inputs `x` with labels `y` (may be empty)."""
    n = len(outputs)
    labelled = y is not None and len(y) == n and n > 0
    if task == "anomaly":
        errors = np.mean((x.reshape(n, -1).astype(np.float64) - outputs.reshape(n, -1)) ** 2, axis=1)
        s = TaskScores(task, score_mean=float(errors.mean()), score_p50=float(np.percentile(errors, 50)),
                       score_p95=float(np.percentile(errors, 95)))
        if labelled and set(np.unique(y)) == {0, 1}:
            from sklearn.metrics import roc_auc_score

            s.auc = float(roc_auc_score(y, errors))
        return s, None
    if not labelled:
        return TaskScores(task), None
    if task == "regression":
        err = outputs.reshape(n, -1).astype(np.float64) - np.asarray(y, np.float64).reshape(n, -1)
        return TaskScores(task, mae=float(np.mean(np.abs(err))), rmse=float(np.sqrt(np.mean(err ** 2)))), None
    pred = outputs.reshape(n, -1).argmax(axis=1)
    k = max(classes, int(y.max()) + 1, int(pred.max()) + 1)
    confusion = np.zeros((k, k), np.int64)
    np.add.at(confusion, (y, pred), 1)
    totals = confusion.sum(axis=1)
    per_class = [float(confusion[i, i] / totals[i]) if totals[i] else None for i in range(k)]
    return TaskScores(task, per_class=per_class, confusion=confusion.tolist()), float(np.mean(pred == y))
