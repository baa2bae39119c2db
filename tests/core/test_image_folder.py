"""Image folders: one subfolder per class, optional train/ and test/, any image size."""

import numpy as np
import pytest
from PIL import Image

from core.data import adapt, load_dataset
from core.errors import DataError


def _write(folder, x, y):
    for i, (img, label) in enumerate(zip(x, y)):
        d = folder / str(label)
        d.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.round(img * 255).astype(np.uint8)).save(d / f"{i:05d}.png")


@pytest.fixture(scope="module")
def mnist_pngs(mnist5k, tmp_path_factory):
    """The 1,000 test images of mnist-5k (and 300 training images) as PNG files."""
    root = tmp_path_factory.mktemp("pngs") / "digits_png"
    _write(root / "test", mnist5k.x_test, mnist5k.y_test)
    _write(root / "train", mnist5k.x_train[:300], mnist5k.y_train[:300])
    return root


def test_png_folder_scores_like_the_builtin_set(mnist_pngs, reference_h5):
    from core.recipe import Recipe
    from core.session import Session

    def accuracy(data):
        session = Session(Recipe(model=str(reference_h5), data=data, latency_runs=0,
                                 steps=[{"name": "quantize", "params": {"modes": ["int8"]}}]))
        result = session.run(tflm=False)
        return [v.metrics.accuracy for v in result.variants], result.dataset

    (folder_float, folder_int8), ds = accuracy(str(mnist_pngs))
    (builtin_float, builtin_int8), _ = accuracy("mnist-5k")
    assert len(ds.x_test) == 1000 and ds.labels == [str(i) for i in range(10)]
    assert abs(folder_float - builtin_float) <= 0.001
    assert abs(folder_int8 - builtin_int8) <= 0.01  # calibrated on other images, still int8 of the same model


def test_any_size_and_colour_is_read_at_the_models_input(tmp_path):
    rng = np.random.default_rng(0)
    for label, size in (("cat", (40, 30)), ("dog", (64, 48))):
        for i in range(4):
            d = tmp_path / "pets" / label
            d.mkdir(parents=True, exist_ok=True)
            Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(d / f"{i}.jpg")
    ds = load_dataset(str(tmp_path / "pets"), input_shape=(32, 32, 3))
    assert ds.labels == ["cat", "dog"] and len(ds.x_train) + len(ds.x_test) == 8
    assert ds.x_train.shape[1:] == (32, 32, 3) and 0 <= ds.x_train.min() and ds.x_train.max() <= 1
    gray = load_dataset(str(tmp_path / "pets"), input_shape=(16, 16, 1))
    assert adapt(gray, (16, 16, 1), 2).x_train.shape[1:] == (16, 16, 1)


def test_bad_folders_are_named(tmp_path):
    (tmp_path / "one" / "only").mkdir(parents=True)
    with pytest.raises(DataError, match="one subfolder per class"):
        load_dataset(str(tmp_path / "one"))
    for name in ("a", "b"):
        (tmp_path / "two" / name).mkdir(parents=True)
    Image.new("L", (8, 8)).save(tmp_path / "two" / "a" / "x.png")
    Image.new("L", (8, 8)).save(tmp_path / "two" / "a" / "y.png")
    with pytest.raises(DataError, match="'b' holds no .png"):
        load_dataset(str(tmp_path / "two"))
    (tmp_path / "two" / "b" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match="broken.png: not a readable image"):
        load_dataset(str(tmp_path / "two"))
