"""Per-layer before/after: operators are paired by what they compute, not by their position."""

from core.analysis.match import match_ops
from core.analysis.memory import analyze_memory
from tests.conftest import shared_model


def _pairs(a, b):
    return [(r.status, a.ops[r.original].op_type if r.original is not None else None,
             b.ops[r.variant].op_type if r.variant is not None else None) for r in match_ops(a.ops, b.ops)]


def test_float_original_against_its_int8_variant(trained_reference, adapted_mnist):
    from core.steps.quantize import convert

    float_ = analyze_memory(convert(trained_reference.model, "float32"))
    int8 = analyze_memory(convert(trained_reference.model, "full-int", adapted_mnist))
    pairs = _pairs(float_, int8)
    assert ("matched", "FULLY_CONNECTED", "FULLY_CONNECTED") in pairs
    assert ("matched", "MAX_POOL_2D", "MAX_POOL_2D") in pairs
    assert ("added", None, "QUANTIZE") in pairs and ("added", None, "DEQUANTIZE") in pairs
    fc = [p for p in pairs if p[2] == "FULLY_CONNECTED"]
    assert fc == [("matched", "FULLY_CONNECTED", "FULLY_CONNECTED")]


def test_study_float_model_against_its_int8_file():
    """The converter turned the 1-channel CONV_2D into a DEPTHWISE_CONV_2D of the same output:
    shown as replaced; the RESHAPE a fixed batch folds away as removed."""
    from core.model.loading import load_model
    from core.steps.quantize import convert

    float_ = analyze_memory(convert(load_model(shared_model("seed_cnn_fashion_base.h5")).model, "float32"))
    int8 = analyze_memory(shared_model("seed_cnn_fashion_int8.tflite").read_bytes())
    pairs = _pairs(float_, int8)
    assert ("replaced", "CONV_2D", "DEPTHWISE_CONV_2D") in pairs
    assert ("matched", "FULLY_CONNECTED", "FULLY_CONNECTED") in pairs
    assert sum(p[0] == "removed" for p in pairs) == 1


def test_same_model_matches_itself_row_for_row():
    kws = analyze_memory(shared_model("kws_ref_model.tflite").read_bytes())
    assert all(p[0] == "matched" for p in _pairs(kws, kws)) and len(_pairs(kws, kws)) == len(kws.ops)
