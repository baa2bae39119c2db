"""Damaged .tflite files: whatever the bytes, the user gets the project's own error naming the file.

The corpus is the four real models in ../shared/models changed in 1 to 4 bytes, mostly in the
flatbuffer's structure (outside the weights, where a change is only a different weight). The
regression cases below are the smallest changes that reached a raw IndexError, TypeError or
ValueError in core/analysis, or crashed LiteRT in the CLI's own process, before the structural
checks and the isolated first contact existed.
"""

import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import LoadError, TinyOptError
from tests.conftest import SHARED_MODELS, shared_model

SEEDS = ["seed_cnn_fashion_int8.tflite", "kws_ref_model.tflite", "pretrainedResnet_quant.tflite",
         "ad01_int8.tflite"]

# (model, [(byte position, new value), ...]) -> what the old code raised
ANALYSIS_CASES = [
    ("kws_ref_model.tflite", [(26847, 255)]),  # IndexError tflite_reader.parameter_count
    ("kws_ref_model.tflite", [(25819, 55)]),  # IndexError memory.analyze_graph (tensor index)
    ("seed_cnn_fashion_int8.tflite", [(21191, 1)]),  # IndexError memory.analyze_graph (outputs)
    ("seed_cnn_fashion_int8.tflite", [(20891, 127)]),  # IndexError tflite_reader.op_name (opcode)
    ("seed_cnn_fashion_int8.tflite", [(21261, 1)]),  # IndexError tflite_reader.io_dtypes
    ("kws_ref_model.tflite", [(26381, 22)]),  # ValueError macs: CONV_2D filter without rank 4
    ("ad01_int8.tflite", [(274332, 0)]),  # IndexError macs: FULLY_CONNECTED filter rank 0
    ("seed_cnn_fashion_int8.tflite", [(20870, 0)]),  # IndexError macs: DEPTHWISE-like filter rank
    ("ad01_int8.tflite", [(272369, 1)]),  # IndexError tflite_reader.io_dtypes (output index)
    ("seed_cnn_fashion_int8.tflite", [(20781, 1)]),  # TypeError tflite_reader: inputs missing
    ("seed_cnn_fashion_int8.tflite", [(28, 26)]),  # TypeError tflite_reader: operators missing
    ("seed_cnn_fashion_int8.tflite", [(22988, 0), (21929, 127)]),  # TypeError io_dtypes
]
# Pass the flatbuffer verifier and the structural checks, crash LiteRT's C++ (rc 139 / 134 before).
LITERT_CASES = [
    ("seed_cnn_fashion_int8.tflite", [(22867, 0)]),  # input zero point -4278190208: SIGSEGV
    ("pretrainedResnet_quant.tflite", [(82695, 118)]),  # a scale of 2.3e33: SIGABRT
]


def _mutant(name, edits) -> bytes:
    data = bytearray(shared_model(name).read_bytes())
    for pos, value in edits:
        data[pos] = value
    return bytes(data)


@pytest.mark.parametrize("name,edits", ANALYSIS_CASES)
def test_damaged_structure_is_a_load_error_naming_the_file(name, edits):
    from core.analysis import inspect_tflite

    data = _mutant(name, edits)
    assert data != shared_model(name).read_bytes()
    with pytest.raises(LoadError, match=f"^{name}: the TFLite file is damaged"):
        inspect_tflite(data, name)


@pytest.mark.parametrize("name,edits", LITERT_CASES)
def test_litert_crash_is_contained_and_named(tmp_path, name, edits):
    from core.analysis import inspect_tflite
    from core.model.loading import load_model

    path = tmp_path / f"damaged_{name}"
    path.write_bytes(_mutant(name, edits))
    inspect_tflite(path.read_bytes(), path.name)  # structurally fine: only a runtime finds out
    with pytest.raises(LoadError, match=f"damaged_{name}: LiteRT crashed while opening this model"):
        load_model(path)
    proc = subprocess.run([sys.executable, "-m", "cli", "analyze", str(path)], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert f"error: damaged_{name}: LiteRT crashed" in proc.stderr and "Traceback" not in proc.stderr


def test_unchanged_models_still_load():
    from core.analysis import inspect_tflite

    for name in SEEDS:
        report = inspect_tflite(shared_model(name).read_bytes(), name)
        assert report["ops"] and report["memory"].peak_bytes > 0


def _structure(name):
    from core.analysis.tflite_reader import payload_ranges

    data = shared_model(name).read_bytes()
    inside = bytearray(len(data))
    for start, end in payload_ranges(data):
        inside[start:end] = b"\x01" * (end - start)
    return data, [i for i in range(len(data)) if not inside[i]]


@pytest.fixture(scope="module")
def corpus():
    if not SHARED_MODELS.exists():
        pytest.skip("../shared/models is not beside the checkout")
    return {name: _structure(name) for name in SEEDS}


edits = st.lists(st.tuples(st.floats(0, 1, exclude_max=True),
                           st.sampled_from([0, 1, 0x7F, 0x80, 0xFF]) | st.integers(0, 255)),
                 min_size=1, max_size=4)


@settings(max_examples=5000, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(name=st.sampled_from(SEEDS), changes=edits)
def test_fuzz_any_exception_is_the_projects_own(corpus, name, changes):
    """About a minute: 5,000 mutants; any exception but a TinyOptError fails (and is shrunk)."""
    from core.analysis import inspect_tflite

    data, positions = corpus[name]
    mutant = bytearray(data)
    for where, value in changes:
        mutant[positions[int(where * len(positions))]] = value
    try:
        inspect_tflite(bytes(mutant), name)
    except TinyOptError as exc:
        assert name in str(exc)
