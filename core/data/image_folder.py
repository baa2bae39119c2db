"""Image folders as datasets: one subfolder per class, the convention of Keras'
`image_dataset_from_directory` (classes in alphanumeric order), optionally split into `train/`
and `test/`. PNG, JPEG and BMP files of any size are read at the model's height, width and
channels (grayscale or RGB) and scaled to [0, 1]; without `train/` and `test/`, a deterministic
stratified split is made.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.errors import DataError

SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp"}
LIMIT = 200_000  # images; a folder larger than this is better given as a .npz


def load_image_folder(root: Path, *, seed: int = 0, test_fraction: float = 0.2, input_shape=None):
    from core.data.dataset import Dataset, check_finite, split

    h, w, channels = _target(input_shape)
    if (root / "train").is_dir() and (root / "test").is_dir():
        classes = _classes(root / "train")
        x_tr, y_tr = _read(root / "train", classes, h, w, channels)
        x_te, y_te = _read(root / "test", classes, h, w, channels)
        ds = Dataset(root.name, x_tr, y_tr, x_te, y_te, classes)
    else:
        classes = _classes(root)
        x, y = _read(root, classes, h, w, channels)
        if min(np.bincount(y, minlength=len(classes))) < 2:
            raise DataError(f"{root.name}: every class folder needs at least 2 images to split into train "
                            "and test (or give train/ and test/ subfolders).")
        ds = split(root.name, x, y, seed, test_fraction, classes)
    check_finite(ds.x_train, f"{root.name}: train")
    return ds


def _target(input_shape):
    """(height, width, channels) to read at; None where the model does not say."""
    shape = tuple(input_shape or ())
    shape = tuple(None if d is None or d < 0 else int(d) for d in shape)
    if len(shape) == 3:
        return shape
    if len(shape) == 2:
        return shape[0], shape[1], 1
    return None, None, None


def _classes(folder: Path) -> list[str]:
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(classes) < 2:
        raise DataError(f"{folder}: an image folder needs one subfolder per class (at least 2), each "
                        "holding that class's .png, .jpg or .bmp files.")
    return classes


def _read(folder: Path, classes: list[str], h, w, channels):
    from PIL import Image, UnidentifiedImageError

    xs, ys = [], []
    for label, name in enumerate(classes):
        sub = folder / name
        files = sorted(p for p in sub.rglob("*") if p.suffix.lower() in SUFFIXES) if sub.is_dir() else []
        if not files:
            raise DataError(f"{sub}: class folder '{name}' holds no .png, .jpg or .bmp image.")
        for path in files:
            if len(xs) >= LIMIT:
                raise DataError(f"{folder}: more than {LIMIT:,} images; save them as a .npz instead.")
            try:
                with Image.open(path) as img:
                    mode = "RGB" if (channels or (3 if img.mode in ("RGB", "RGBA", "P") else 1)) == 3 else "L"
                    img = img.convert(mode)
                    if h and w and img.size != (w, h):
                        img = img.resize((w, h), Image.BILINEAR)
                    xs.append(np.asarray(img, np.float32) / 255.0)
            except (UnidentifiedImageError, OSError, ValueError) as exc:
                raise DataError(f"{path}: not a readable image ({type(exc).__name__}). Remove or replace "
                                "it.") from None
            ys.append(label)
    shapes = {x.shape for x in xs}
    if len(shapes) > 1:
        raise DataError(f"{folder}: the images have different sizes {sorted(shapes)[:3]} and the model's "
                        "input size is not known: open the model first, or resize the images.")
    return np.stack(xs), np.asarray(ys, np.int64)
