"""The speed pass's rewrites beyond one-channel convolutions: a depthwise convolution with a
multiplier as CONV_2D (and a strided one-channel convolution either way), a PAD folded into SAME
padding, a FULLY_CONNECTED as a 1x1 or whole-image CONV_2D. Each form must be bit-identical on
TFLM and LiteRT for random int8 inputs over a range of shapes: the rewritten operator's output is
the model's output, so nothing after it can hide a difference."""

import pytest

from core.analysis import dw_forms, op_forms, pad_fusion
from core.analysis.tflite_reader import op_names, read_model
from core.analysis.tflite_writer import to_bytes
from core.measure.identical import same_outputs
from tests.core.test_conv_forms import _int8


def _L():
    from core.tf_env import keras

    keras().utils.set_random_seed(0)  # the same weights every run
    return keras().layers


def _every_form_is_exact(data: bytes, site) -> dict:
    model = read_model(data)
    written = {}
    for form in site.forms:
        out = to_bytes(op_forms.rewrite(model, site, form))
        assert same_outputs(data, out) is None, (site.label(model), form)
        written[form] = op_names(read_model(out))
    return written


DEPTHWISE = [  # (size, input channels, multiplier, stride, padding)
    (12, 2, 2, 1, "valid"),
    (11, 3, 4, 2, "same"),
    (10, 4, 3, 1, "same"),
    (13, 8, 2, 2, "valid"),
    (9, 5, 3, 2, "same"),
]


@pytest.mark.parametrize("size,cin,mult,stride,padding", DEPTHWISE)
def test_a_depthwise_convolution_with_a_multiplier_is_an_exact_conv(size, cin, mult, stride, padding):
    L = _L()
    data = _int8([L.DepthwiseConv2D(3, strides=stride, padding=padding, depth_multiplier=mult, activation="relu")],
                 (size, size, cin), "int8")
    (site,) = dw_forms.sites(read_model(data))
    assert (site.form, site.channels_in, site.channels_out, site.stride) == ("depthwise", cin, cin * mult,
                                                                             (stride, stride))
    ops = _every_form_is_exact(data, site)
    assert ops["conv"].count("CONV_2D") == 1 and "DEPTHWISE_CONV_2D" not in ops["conv"]


STRIDED = [(14, 1, "same"), (15, 16, "valid"), (16, 7, "same")]  # (size, output channels, padding)


@pytest.mark.parametrize("size,cout,padding", STRIDED)
def test_a_strided_one_channel_convolution_is_exact_in_both_forms(size, cout, padding):
    L = _L()
    data = _int8([L.Conv2D(cout, 3, strides=2, padding=padding)], (size, size, 1), "int8")
    model = read_model(data)
    sites = [s for s in op_forms.sites(model) if s.kind == "dw_forms"]
    assert len(sites) == 1 and sites[0].forms == (sites[0].form, "depthwise" if sites[0].form == "conv" else "conv")
    _every_form_is_exact(data, sites[0])


def test_a_depthwise_without_a_multiplier_over_many_channels_is_no_site():
    L = _L()
    data = _int8([L.DepthwiseConv2D(3, padding="same")], (8, 8, 16), "int8")
    assert dw_forms.sites(read_model(data)) == []


PADS = [  # (size, channels in, pad, kernel, stride, depthwise, the kernel SAME needs)
    (12, 2, 1, 3, 2, False, (4, 4)),  # PyTorch's padding 1 before a stride-2 3x3 (SAME pads 0, 1)
    (12, 3, 1, 3, 2, True, (4, 4)),
    (16, 1, 2, 5, 2, False, (6, 6)),
    (12, 5, ((1, 0), (1, 0)), 3, 2, False, (4, 4)),  # before only: a zero tap after all the same
]


@pytest.mark.parametrize("size,cin,pad,kernel,stride,depthwise,same", PADS)
def test_a_pad_folds_into_same_padding_of_a_zero_extended_kernel(size, cin, pad, kernel, stride, depthwise, same):
    L = _L()
    conv = (L.DepthwiseConv2D(kernel, strides=stride) if depthwise else L.Conv2D(8, kernel, strides=stride))
    data = _int8([L.ZeroPadding2D(pad), conv], (size, size, cin), "int8")
    assert "PAD" in op_names(read_model(data))  # the converter kept it (it folds SAME's own pads)
    (site,) = pad_fusion.sites(read_model(data))
    ops = _every_form_is_exact(data, site)
    assert "PAD" not in ops["fused"] and len(ops["fused"]) == len(ops["pad"]) - 1
    fused = read_model(to_bytes(op_forms.rewrite(read_model(data), site, "fused")))
    assert tuple(fused.subgraphs[0].tensors[fused.subgraphs[0].operators[0].inputs[1]].shape[1:3]) == same


def test_a_pad_that_no_same_convolution_expresses_stays():
    """Padding 2 before a stride-1 3x3 widens the output: SAME cannot."""
    L = _L()
    data = _int8([L.ZeroPadding2D(2), L.Conv2D(4, 3)], (8, 8, 2), "int8")
    assert "PAD" in op_names(read_model(data)) and pad_fusion.sites(read_model(data)) == []


def test_same_padding_search_matches_tflite():
    assert pad_fusion.same_pads(12, 3, 2) == (0, 1) and pad_fusion.same_pads(11, 3, 2) == (1, 1)
    assert pad_fusion.as_same(12, 3, 2, (1, 1)) == (0, 1)  # a zero row after: 4 taps, SAME pads 1, 1
    assert pad_fusion.as_same(12, 3, 2, (0, 1)) == (0, 0)  # SAME's own
    assert pad_fusion.as_same(8, 3, 1, (2, 2)) is None
