"""`Dataset`: train and test splits in one canonical form (images as float32 in [0, 1], shape
(N, H, W) or (N, H, W, C); integer class labels, float regression targets, or none), and the
checks every source of samples shares."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.errors import DataError


@dataclass(frozen=True)
class Dataset:
    """Train and test splits plus what they are. `labels` names the classes when known."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    labels: list = field(default_factory=list)
    value_range: tuple | None = (0.0, 1.0)  # None: values already in the model's input units

    @property
    def labelled(self) -> bool:
        return len(self.y_test) == len(self.x_test) > 0
    @property
    def num_classes(self) -> int:
        if (not len(self.y_train) and not len(self.y_test)) or self.y_test.dtype.kind == "f":
            return 0  # unlabelled (e.g. synthetic calibration inputs), or regression targets
        return int(max(self.y_train.max(initial=-1), self.y_test.max(initial=-1))) + 1

    def __repr__(self) -> str:
        return (f"Dataset({self.name!r}, train={self.x_train.shape}, test={self.x_test.shape}, "
                f"classes={self.num_classes})")


def split(name, x, y, seed, test_fraction, labels) -> Dataset:
    from sklearn.model_selection import train_test_split

    x = np.asarray(x, np.float32)
    y = np.asarray(y, np.float32 if np.issubdtype(np.asarray(y).dtype, np.floating) else np.int64)
    if len(x) < 2:
        raise DataError(f"{name}: {len(x)} labelled sample(s); at least 2 are needed (one to train or "
                        "calibrate on, one to test on).")
    try:
        x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=test_fraction, random_state=seed,
                                                  stratify=None if y.dtype.kind == "f" else y)
    except ValueError:  # a class with a single sample cannot be stratified: plain seeded split
        x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=max(test_fraction, 1 / len(x)),
                                                  random_state=seed)
    return Dataset(name, x_tr, y_tr, x_te, y_te, labels)


def check_finite(x: np.ndarray, where: str) -> None:
    """Refuse samples with NaN or infinite values, naming how many and which: training on them
    silently yields NaN weights, and calibration on them a broken int8 model."""
    if not np.issubdtype(x.dtype, np.floating):
        return
    bad = ~np.isfinite(x.reshape(len(x), -1)).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        shown = ", ".join(map(str, rows[:5])) + (", ..." if len(rows) > 5 else "")
        raise DataError(f"{where}: {len(rows):,} of {len(x):,} samples hold NaN or infinite values "
                        f"(samples {shown}). Remove or repair them and load the data again.")
