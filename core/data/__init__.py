"""Datasets: where samples come from (built-in sets, arrays, CSV, image folders), in one canonical
form (`Dataset`), and their adaptation to a model's input.

    dataset.py       Dataset, the split and the checks every source shares
    builtin.py       the built-in sets and which models they serve
    arrays.py        .npz / .npy files and arrays in memory
    csv_file.py      CSV files (tabular and sensor data)
    image_folder.py  a folder of images, one subfolder per class
    adapt.py         a dataset fitted to a model's input; calibration samples
"""

from __future__ import annotations

import os
from pathlib import Path

from core.data.adapt import adapt, normalize, representative
from core.data.arrays import NPZ_KEYS, from_arrays
from core.data.builtin import BUILTIN, BUILTIN_HW, DEFAULT, OWN_DATA_HINT, builtin_fits
from core.data.dataset import Dataset, check_finite, split
from core.errors import DataError

__all__ = ["BUILTIN", "BUILTIN_HW", "DEFAULT", "NPZ_KEYS", "OWN_DATA_HINT", "Dataset", "adapt", "builtin_fits",
           "check_finite", "from_arrays", "load_dataset", "normalize", "representative", "split"]


def load_dataset(spec: str = DEFAULT, *, seed: int = 0, test_fraction: float = 0.2,
                 input_shape=None, label_column: str | None = None) -> Dataset:
    """Load a built-in dataset by name (see `BUILTIN`), an image folder, a `.npz` or a `.csv` file
    (`label_column` names its label column).

    `input_shape` (the model's, without the batch axis) lets an image folder be read straight at
    the model's size and channels, whatever size its files are.
    """
    spec = str(spec)
    if spec in BUILTIN:
        from core.data.builtin import builtin

        return builtin(spec, seed, test_fraction)
    if spec.lower().endswith(".csv"):
        from core.data.csv_file import load_csv

        return load_csv(Path(spec), label_column=label_column, seed=seed, test_fraction=test_fraction)
    if os.path.isdir(spec):
        from core.data.image_folder import load_image_folder

        return load_image_folder(Path(spec), seed=seed, test_fraction=test_fraction, input_shape=input_shape)
    from core.data.arrays import npy_dataset, npz_dataset

    if spec.lower().endswith(".npy"):  # x.npy, or x.npy,y.npy
        return npy_dataset(spec, seed, test_fraction)
    if spec.lower().endswith(".npz") or os.path.exists(spec):
        return npz_dataset(Path(spec), seed, test_fraction)
    raise DataError(f"Unknown dataset '{spec}'. Use one of {', '.join(BUILTIN)}, an image folder (one "
                    f"subfolder per class), or a .npz file with arrays {', '.join(NPZ_KEYS)}.")
