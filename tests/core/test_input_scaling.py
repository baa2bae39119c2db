"""Input scaling: detected from a Normalization layer, or mean/std chosen by the user, applied to
the data, the synthetic inputs and recorded in the recipe."""

import numpy as np
import pytest

from core.data import Dataset, adapt


def test_normalization_layer_adapted_on_pixels_means_0_to_255():
    from core.artifact import Artifact
    from core.model.info import model_io
    from core.tf_env import keras

    k = keras()
    for data, want in ((np.random.default_rng(0).uniform(0, 255, (200, 8, 8, 1)), 255.0),
                       (np.random.default_rng(0).uniform(0, 1, (200, 8, 8, 1)), 1.0)):
        norm = k.layers.Normalization(axis=-1)
        norm.adapt(data)
        model = k.Sequential([k.layers.InputLayer((8, 8, 1)), norm, k.layers.Flatten(), k.layers.Dense(3)])
        io = model_io(Artifact("keras", "m", "m.h5", model=model))
        assert io.value_range == (0.0, want) and "Normalization layer" in io.range_source


def test_mean_std_normalizes_images_per_channel():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (10, 4, 4, 3)).astype(np.float32)
    ds = Dataset("rgb", x, np.zeros(10, int), x, np.zeros(10, int))
    norm = {"mean": [0.5, 0.4, 0.3], "std": [0.25, 0.2, 0.1]}
    out = adapt(ds, (4, 4, 3), 3, norm=norm)
    np.testing.assert_allclose(out.x_test[..., 2], (x[..., 2] - 0.3) / 0.1, rtol=1e-5)
    assert out.value_range is None  # no longer 0..1 images
    with pytest.raises(Exception, match="2 mean/std values but the samples .* 3 channels"):
        adapt(ds, (4, 4, 3), 3, norm={"mean": [0.5, 0.5], "std": [0.2, 0.2]})


def test_recipe_norm_reaches_data_synthetic_inputs_and_log(reference_h5):
    from core.recipe import Recipe
    from core.runner import describe_scaling, prepare, synthetic_inputs
    from core.steps.base import Context

    recipe = Recipe(model=str(reference_h5), input_norm={"mean": [0.1307], "std": [0.3081]})
    original, ds = prepare(recipe, Context())
    assert ds.x_test.min() == pytest.approx(-0.1307 / 0.3081, abs=1e-4)
    assert ds.x_test.max() == pytest.approx((1 - 0.1307) / 0.3081, abs=0.05)
    x = synthetic_inputs(original, 0, (0.0, 1.0), recipe.input_norm)
    assert x.min() >= -0.1307 / 0.3081 - 1e-5 and x.max() > 2.0
    assert "mean [0.1307]" in describe_scaling(recipe, original)
    assert Recipe.from_dict(recipe.to_dict()).input_norm == recipe.input_norm


def test_input_norm_text_parses_and_refuses_garbage():
    from core.errors import TinyOptError
    from core.recipe import parse_norm

    assert parse_norm("0.485,0.456,0.406/0.229,0.224,0.225")["std"] == [0.229, 0.224, 0.225]
    with pytest.raises(TinyOptError, match="give MEAN/STD"):
        parse_norm("0.5")
    with pytest.raises(TinyOptError, match="every 'std' above 0"):
        parse_norm("0.5/0", "--input-norm")
