"""Channel pruning cuts real channels: the rebuilt model is the original with the removed channels
masked (its readers ignore them), to float tolerance, on a residual network with BatchNorm, a
depthwise-separable block and a Flatten -> Dense head; and the .tflite of a cut reference CNN is
smaller in flash and arena."""

import numpy as np
import pytest

from core.steps.channel_groups import analyse
from core.steps.channels import ChannelParams, choose, rebuild
from core.tf_env import keras


def _residual():
    k = keras()
    x = inp = k.Input((12, 12, 3))
    x = k.layers.Conv2D(8, 3, padding="same", name="stem")(x)
    x = k.layers.BatchNormalization(name="stem_bn")(x)
    trunk = k.layers.ReLU()(x)
    y = k.layers.Conv2D(6, 3, padding="same", name="b1")(trunk)
    y = k.layers.BatchNormalization(name="b1_bn")(y)
    y = k.layers.ReLU()(y)
    y = k.layers.Conv2D(8, 3, padding="same", name="b2")(y)
    y = k.layers.BatchNormalization(name="b2_bn")(y)
    x = k.layers.Add(name="add")([trunk, y])
    x = k.layers.ReLU()(x)
    x = k.layers.GlobalAveragePooling2D()(x)
    return k.Model(inp, k.layers.Dense(4, name="head")(x))


def _separable():
    k = keras()
    return k.Sequential([k.layers.InputLayer((10, 10, 2)), k.layers.Conv2D(8, 3, name="c0"),
                         k.layers.DepthwiseConv2D(3, padding="same", name="dw"), k.layers.BatchNormalization(name="dw_bn"),
                         k.layers.ReLU(), k.layers.Conv2D(12, 1, name="pw"), k.layers.ReLU(),
                         k.layers.SeparableConv2D(6, 3, depth_multiplier=2, name="sep"),
                         k.layers.GlobalAveragePooling2D(), k.layers.Dense(3, name="out")])


def _flatten_head():
    k = keras()
    return k.Sequential([k.layers.InputLayer((8, 8, 1)), k.layers.Conv2D(6, 3, activation="relu", name="conv"),
                         k.layers.MaxPooling2D(), k.layers.Flatten(), k.layers.Dense(10, activation="relu", name="hidden"),
                         k.layers.Dropout(0.1), k.layers.Dense(3, name="out")])


def _concat():
    """Concatenations: of two convolutions (then pooled), and of that with a third, flattened."""
    k = keras()
    inp = k.Input((8, 8, 2))
    a = k.layers.Conv2D(4, 3, padding="same", name="a")(inp)
    b = k.layers.ReLU()(k.layers.Conv2D(6, 1, name="b")(inp))
    x = k.layers.MaxPooling2D()(k.layers.Concatenate(name="cat")([a, b]))
    y = k.layers.Conv2D(5, 1, name="c")(x)
    z = k.layers.Flatten()(k.layers.Concatenate(name="cat2")([x, y]))
    return k.Model(inp, k.layers.Dense(3, name="out")(z))


def _randomize(model, seed=0):
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        ws = layer.get_weights()
        if type(layer).__name__ == "BatchNormalization":  # gamma, beta, mean, variance
            ws = [rng.uniform(0.5, 1.5, w.shape) if i in (0, 3) else rng.normal(0, 0.3, w.shape) for i, w in enumerate(ws)]
        else:
            ws = [rng.normal(0, 0.5, w.shape) for w in ws]
        layer.set_weights([w.astype(np.float32) for w in ws])
    return model


def _masked(model, analysis, kept):
    """The original with every reader of a removed channel ignoring it (its input weights zeroed)."""
    masked = keras().models.clone_model(model)
    masked.set_weights(model.get_weights())
    for g in analysis.groups:
        removed = np.setdiff1d(np.arange(g.channels), kept[g.name])
        for name, role, spatial, offset, total in g.consumers:
            layer = masked.get_layer(name)
            ws = layer.get_weights()
            cls = type(layer).__name__
            if role == "flat":
                rows = [s * total + offset + c for s in range(spatial) for c in removed]
                ws[0][rows, :] = 0
            elif cls == "Dense":
                ws[0][offset + removed, :] = 0
            elif cls == "SeparableConv2D":
                ws[0][:, :, offset + removed, :] = 0
            else:
                ws[0][..., offset + removed, :] = 0
            layer.set_weights(ws)
    return masked


@pytest.mark.parametrize("build, groups", [(_residual, {"stem": 8, "b1": 6}),
                                           (_separable, {"c0": 8, "pw": 12, "sep": 6}),
                                           (_flatten_head, {"conv": 6, "hidden": 10}),
                                           (_concat, {"a": 4, "b": 6, "c": 5})])
def test_rebuilt_model_equals_the_masked_original(build, groups):
    model = _randomize(build())
    analysis = analyse(model)
    assert {g.name: g.channels for g in analysis.groups} == groups
    if build is _residual:  # the residual's two ends are one group, its BatchNorms members
        (stem,) = [g for g in analysis.groups if g.name == "stem"]
        assert sorted(stem.producers) == ["b2", "stem"] and {"stem_bn", "b2_bn"} <= {n for n, _ in stem.members}
    kept = choose(model, analysis, ChannelParams(keep=0.5, epochs=0))
    small = rebuild(model, analysis, kept)
    assert small.count_params() < model.count_params()
    assert small.output_shape == model.output_shape  # the output's units never change
    for g in analysis.groups:
        for name in g.producers:
            assert small.get_layer(name).get_config().get("filters", small.get_layer(name).get_config().get("units")) \
                == len(kept[g.name]) == round(g.channels / 2)
    x = np.random.default_rng(1).normal(size=(5, *model.input_shape[1:])).astype(np.float32)
    expected = _masked(model, analysis, kept).predict(x, verbose=0)
    np.testing.assert_allclose(small.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-5)


def test_taylor_importance_drops_a_large_filter_the_loss_ignores():
    """A filter with the largest weights whose output no later layer reads: L1 keeps it, the
    loss-based Taylor score drops it first."""
    from core.data import Dataset
    from core.steps.base import Context

    k = keras()
    model = k.Sequential([k.layers.InputLayer((8, 8, 1)), k.layers.Conv2D(4, 3, activation="relu", name="conv"),
                          k.layers.Flatten(), k.layers.Dense(3, name="out")])
    _randomize(model)
    conv, out = model.get_layer("conv"), model.get_layer("out")
    w, b = conv.get_weights()
    w[..., 0] *= 10.0  # channel 0: by far the largest filter ...
    conv.set_weights([w, b])
    rows, bias = out.get_weights()
    rows[0::4] = 0.0  # ... and the Dense reads none of its 36 positions (channel-last flatten)
    out.set_weights([rows, bias])
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 8, 8, 1)).astype(np.float32)
    y = rng.integers(0, 3, 64)
    ctx = Context(dataset=Dataset("random", x, y, x[:8], y[:8]))
    analysis = analyse(model)
    l1 = choose(model, analysis, ChannelParams(keep=0.75, epochs=0))["conv"]
    taylor = choose(model, analysis, ChannelParams(keep=0.75, importance="taylor", epochs=0), ctx)["conv"]
    assert 0 in l1 and 0 not in taylor and len(taylor) == 3


def test_taylor_importance_without_labels_says_what_to_choose():
    from core.errors import SequenceError

    model = _randomize(_flatten_head())
    with pytest.raises(SequenceError, match="labelled data"):
        choose(model, analyse(model), ChannelParams(importance="taylor"), None)


def test_what_it_cannot_follow_stays_whole_and_is_named():
    k = keras()
    inp = k.Input((6, 6, 2))
    a = k.layers.Conv2D(4, 3, name="a")(inp)
    b = k.layers.Conv2D(4, 3, name="b")(inp)
    x = k.layers.Concatenate(name="cat")([a, b])
    x = k.layers.BatchNormalization(name="cat_bn")(x)  # per-channel weights across the segments
    x = k.layers.Conv2D(5, 1, name="c")(x)
    x = k.layers.Reshape((-1,), name="reshape")(x)
    model = k.Model(inp, k.layers.Dense(2, name="out")(x))
    analysis = analyse(model)
    assert analysis.groups == []
    assert ("cat_bn", "BatchNormalization", "not followed: its channels stay whole") in analysis.left_whole
    assert ("reshape", "Reshape", "not followed: its channels stay whole") in analysis.left_whole


@pytest.mark.slow
def test_cut_reference_cnn_is_smaller_on_tflm(reference_h5):
    from core.model.loading import load_model
    from core.steps.channels import ChannelStep
    from core.steps.base import Context
    from core.steps.quantize import convert
    from core.measure.tflm_check import check_tflm
    from core.data import adapt, load_dataset

    art = load_model(str(reference_h5))
    ds = adapt(load_dataset("mnist-5k"), art.model.input_shape[1:], 10)
    ctx = Context(dataset=ds, task="classification")
    (cut,) = ChannelStep(keep=0.25, epochs=1).run(art, ctx)
    (group,) = cut.info["channels"]["groups"].values()  # the convolution's 12 filters: 3 kept
    assert (group["channels"], group["kept"]) == (12, 3)
    full, small = (convert(m, "int8", ds, 100) for m in (art.model, cut.model))
    t_full, t_small = check_tflm(full), check_tflm(small)
    assert len(small) < 0.5 * len(full) and t_small.arena_total < t_full.arena_total


@pytest.mark.slow
def test_a_budget_run_lands_under_its_budget_on_tflm(reference_h5):
    from core.data import adapt, load_dataset
    from core.measure.tflm_check import check_tflm
    from core.model.loading import load_model
    from core.steps.base import Context
    from core.steps.channels import ChannelStep
    from core.steps.quantize import convert

    art = load_model(str(reference_h5))
    ds = adapt(load_dataset("mnist-5k"), art.model.input_shape[1:], 10)
    lines = []
    ctx = Context(dataset=ds, task="classification", log=lines.append)
    (cut,) = ChannelStep(flash_budget=12_000, arena_budget=7_000, epochs=1).run(art, ctx)
    path = cut.info["channels"]["path"]
    assert path[0]["flash"] > 12_000 and path[-1]["flash"] <= 12_000 and path[-1]["arena"] <= 7_000
    assert [r["channels"]["conv2d"] for r in path] == sorted((r["channels"]["conv2d"] for r in path), reverse=True)
    from core.steps.strip import strip

    data = strip(convert(cut.model, "int8", ds, 100))
    assert len(data) <= 12_000 and check_tflm(data, verify=False).arena_total <= 7_000  # measured again
    assert any("round 1: conv2d" in line for line in lines)
    with pytest.raises(Exception, match="cannot reach the budget"):
        ChannelStep(flash_budget=1_000, epochs=0).run(art, Context(dataset=ds, task="classification"))


@pytest.mark.slow
@pytest.mark.timeout(1800)  # the first target test on a machine builds TFLM for the core
def test_an_instructions_budget_is_met_on_the_emulated_core(reference_h5):
    import os

    from core.recipe import Recipe
    from core.session import Session
    from core.target import toolchain

    if not toolchain.available() and not os.environ.get("TINYOPT_REQUIRE_TARGET"):
        pytest.skip("the Arm toolchain and QEMU are not installed (make setup-target)")
    recipe = Recipe(model=str(reference_h5), latency_runs=0, target="cortex-m4f", clock_mhz=64, steps=[
        {"name": "channels", "params": {"instructions_budget": 700_000, "arena_budget": 6_000, "epochs": 1}},
        {"name": "quantize", "params": {"modes": ["int8"]}}])
    lines = []
    from core.steps.base import Context

    result = Session(recipe).run(Context(log=lines.append))
    t = result.variants[-1].metrics.target
    assert t.instructions <= 700_000 and t.arena_used <= 6_000  # measured again by the run, on the same core
    assert any("measuring on cortex-m4f" in line for line in lines)


def test_a_firmware_budget_counts_the_tflm_code_beside_the_model(reference_h5):
    """A flash budget the int8 model's bytes meet but its firmware (model + TFLM code) does not: the
    model budget cuts nothing, the firmware budget cuts until model + code fit."""
    import os

    from core.recipe import Recipe
    from core.session import Session
    from core.steps.base import Context
    from core.target import toolchain

    if not toolchain.available() and not os.environ.get("TINYOPT_REQUIRE_TARGET"):
        pytest.skip("the Arm toolchain and QEMU are not installed (make setup-target)")

    def run(budget_of, flash):
        recipe = Recipe(model=str(reference_h5), latency_runs=0, target="cortex-m4f", steps=[
            {"name": "channels", "params": {"flash_budget": flash, "budget_of": budget_of, "epochs": 0,
                                            "round_epochs": 0}},
            {"name": "quantize", "params": {"modes": ["int8"]}}, {"name": "strip", "params": {}}])
        lines = []
        result = Session(recipe).run(Context(log=lines.append))
        return result.variants[-1].metrics, result.variants[1].artifact.info["channels"]["path"], lines

    m, path, _ = run("model", 200_000)
    start = path[0]
    assert len(path) == 1 and m.size_bytes < 200_000  # the model alone fits: nothing cut
    budget = m.footprint.flash_total - 3_000  # the firmware does not, by 3,000 B
    m, path, lines = run("firmware", budget)
    assert len(path) > 1 and path[-1]["flash"] <= budget < path[0]["flash"]
    assert path[0]["flash"] == path[0]["code"] + start["flash"] and path[-1]["code"] > 50_000
    assert m.footprint.flash_total <= budget + 64  # the run's own measurement agrees (its strip: same bytes)
    assert any("count the whole firmware" in line for line in lines)


def _chain_cnn(functional: bool, matrix_input: bool = False):
    k = keras()
    shape = (16, 12) if matrix_input else (16, 12, 1)
    layers = ([k.layers.Reshape((16, 12, 1), name="to_image")] if matrix_input else []) + [
        k.layers.Conv2D(3, 3, name="conv")] + ([k.layers.BatchNormalization(name="bn")] if functional else []) + [
        k.layers.ReLU(), k.layers.MaxPooling2D(name="pool"), k.layers.Conv2D(4, 3, name="conv2"),
        k.layers.Flatten(name="flat"), k.layers.Dense(5, name="out")]
    if not functional:
        return k.Sequential([k.layers.InputLayer(shape)] + layers)
    x = inp = k.Input(shape)
    for layer in layers:
        x = layer(x)
    return k.Model(inp, x)


@pytest.mark.parametrize("functional, matrix_input", [(False, False), (True, False), (True, True)])
def test_cropping_the_input_keeps_every_other_position_exact(functional, matrix_input):
    """Two crops: the cut model equals the original with the removed map positions replaced by
    their mean over the data (what the Dense's bias now holds), to float tolerance."""
    from core.steps.channel_crop import chain, crop

    model = _randomize(_chain_cnn(functional, matrix_input))
    x = np.random.default_rng(2).uniform(0, 1, (40, *model.input_shape[1:])).astype(np.float32)
    ch = chain(model)
    assert ch.unit == 2 and ch.map_shape == (5, 3, 4)  # (16-2)/2-2, (12-2)/2-2
    once = crop(model, ch, "top", x)
    twice = crop(once, chain(once), "right", x)
    assert chain(twice).crop == [2, 0, 0, 2] and chain(twice).map_shape == (4, 2, 4)
    assert twice.input_shape == model.input_shape  # the crop is inside: the firmware's input is unchanged
    k = keras()
    maps = k.Model(model.inputs, model.get_layer("flat").input).predict(x, verbose=0)
    expected = maps.copy()
    expected[:, 0] = maps.mean(axis=0)[0]
    expected[:, :, -1] = maps.mean(axis=0)[:, -1]
    w, b = model.get_layer("out").get_weights()
    np.testing.assert_allclose(twice.predict(x, verbose=0), expected.reshape(len(x), -1) @ w + b, rtol=1e-4, atol=1e-5)
    assert [g.name for g in analyse(twice).groups] == ["conv", "conv2"]  # channels still cut after a crop


def test_only_a_plain_valid_chain_is_cropped():
    from core.steps.channel_crop import chain

    k = keras()
    same = k.Sequential([k.layers.InputLayer((8, 8, 1)), k.layers.Conv2D(2, 3, padding="same"), k.layers.Flatten(),
                         k.layers.Dense(2)])
    gap = k.Sequential([k.layers.InputLayer((8, 8, 1)), k.layers.Conv2D(2, 3), k.layers.GlobalAveragePooling2D(),
                        k.layers.Dense(2)])
    odd = k.Sequential([k.layers.InputLayer((9, 9, 1)), k.layers.Conv2D(2, 3), k.layers.MaxPooling2D(),
                        k.layers.Flatten(), k.layers.Dense(2)])  # 7 rows into a 2x2 pool: one is dropped
    assert chain(same) is None and chain(gap) is None and chain(odd) is None


def test_the_budget_crops_only_what_the_data_leaves_empty():
    """removed_variance: a border the inputs never vary in costs nothing; one they do, its share."""
    from core.steps.channel_crop import chain, removed_variance

    model = _chain_cnn(False)
    ch = chain(model)
    rng = np.random.default_rng(0)
    centre = np.zeros((64, 16, 12, 1), np.float32)
    centre[:, 4:12, 2:10] = rng.uniform(0, 1, (64, 8, 8, 1))
    assert removed_variance(ch, "top", centre) == 0.0 and removed_variance(ch, "left", centre) == 0.0
    noisy = rng.uniform(0, 1, (64, 16, 12, 1)).astype(np.float32)
    assert removed_variance(ch, "top", noisy) == pytest.approx(2 / 16, abs=0.02)  # two of 16 rows
