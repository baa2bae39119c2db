"""CSV files as datasets, for tabular and sensor data (predictive maintenance): one sample per
row, a header naming the columns; the feature columns are the sample (flattened to the model's
input later), and one column, chosen by name, is the label. Without a label column the data is
unlabelled (calibration and fidelity only)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from core.errors import DataError, setting

LABEL_NAMES = ("label", "target", "class", "y")  # taken as the label when none is named
MAX_ROWS = 2_000_000


def columns(path: Path) -> tuple[list[str], str | None]:
    """The CSV's column names and the one taken as the label when none is named (or None)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            header = [h.strip() for h in next(csv.reader(f), [])]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{Path(path).name}: not a readable CSV file ({type(exc).__name__}).") from None
    return header, next((h for h in header if h.lower() in LABEL_NAMES), None)


def load_csv(path: Path, *, label_column: str | None = None, seed: int = 0, test_fraction: float = 0.2):
    from core.data.arrays import from_arrays

    if not path.exists():
        raise DataError(f"{path}: no such CSV file.")
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{path.name}: not a readable CSV file ({type(exc).__name__}).") from None
    if len(rows) < 2:
        raise DataError(f"{path.name}: a CSV dataset needs a header row and at least one sample.")
    if len(rows) > MAX_ROWS:
        raise DataError(f"{path.name}: more than {MAX_ROWS:,} rows; save the data as a .npz instead.")
    header = [h.strip() for h in rows[0]]
    body = [r for r in rows[1:] if any(c.strip() for c in r)]
    bad = next((i for i, r in enumerate(body, start=2) if len(r) != len(header)), None)
    if bad is not None:
        raise DataError(f"{path.name}: row {bad} has {len(body[bad - 2])} values; the header has {len(header)}.")
    label = label_column or next((h for h in header if h.lower() in LABEL_NAMES), None)
    if label is not None and label not in header:
        raise DataError(f"{path.name}: no column named '{label}'; the columns are {', '.join(header)}.")
    features = [i for i, h in enumerate(header) if h != label]
    x = np.empty((len(body), len(features)), np.float32)
    for j, i in enumerate(features):
        try:
            x[:, j] = [float(r[i]) for r in body]
        except ValueError:
            raise DataError(f"{path.name}: column '{header[i]}' holds values that are not numbers; "
                            f"name the label column ({setting('label_column')}) or remove text columns.") from None
    arrays, labels = {"x": x}, []
    if label is not None:
        raw = [r[header.index(label)].strip() for r in body]
        try:
            values = np.asarray([float(v) for v in raw])
            if not np.isfinite(values).all():
                raise DataError(f"{path.name}: label column '{label}' holds NaN or infinite values.")
            whole = bool(np.all(values == np.round(values)))  # class labels; else regression targets
            arrays["y"] = values.astype(np.int64) if whole else values.astype(np.float32)
        except ValueError:  # class names: numbered in sorted order, as image folders are
            labels = sorted(set(raw))
            arrays["y"] = np.asarray([labels.index(v) for v in raw], np.int64)
    return from_arrays(path.stem, arrays, labels, seed=seed, test_fraction=test_fraction, where=path.name)
