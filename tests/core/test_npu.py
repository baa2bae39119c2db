"""Ethos-U NPUs through Vela: placement, cycles and SRAM equal what the `vela` command prints for the
same model and configuration; float I/O stays on the CPU with the reason and what to change; a
board's clock becomes its own configuration; a model Vela refuses is named."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ethosu.vela")

from core.npu.configs import find_npu  # noqa: E402
from core.npu.vela import compile_for  # noqa: E402


def _int8(layers, shape, mode):
    from core.data import Dataset
    from core.steps.quantize import convert
    from core.tf_env import keras

    k = keras()
    model = k.Sequential([k.layers.Input(shape), *layers(k)])
    x = np.random.default_rng(0).uniform(0, 1, (32, *shape)).astype(np.float32)
    return convert(model, mode, Dataset("random", x, np.zeros(32, int), x[:4], np.zeros(4, int)))


def _cnn(k):
    return [k.layers.Conv2D(8, 3, activation="relu"), k.layers.MaxPooling2D(), k.layers.Flatten(), k.layers.Dense(10)]


def _depthwise(k):
    return [k.layers.Conv2D(16, 3, strides=2, padding="same", activation="relu"),
            k.layers.DepthwiseConv2D(3, padding="same", activation="relu"), k.layers.Conv2D(16, 1, activation="relu"),
            k.layers.GlobalAveragePooling2D(), k.layers.Dense(4)]


MODELS = {"cnn, float I/O": (_cnn, (28, 28, 1), "full-int"), "cnn, int8 I/O": (_cnn, (28, 28, 1), "int8"),
          "depthwise block": (_depthwise, (32, 32, 3), "int8")}


@pytest.fixture(scope="module")
def models():
    return {name: _int8(*spec) for name, spec in MODELS.items()}


def _vela_command(data: bytes, npu, folder: Path):
    """What the `vela` command prints: [(target, op cycles, name)] per row, CPU/NPU counts, SRAM KiB."""
    src = folder / "m.tflite"
    src.write_bytes(data)
    out = subprocess.run([sys.executable, "-m", "ethosu.vela", str(src), "--output-dir", str(folder / "out"),
                          "--accelerator-config", npu.name, "--config", "Arm/vela.ini", "--system-config",
                          npu.system_config, "--memory-mode", npu.memory_mode, "--verbose-performance"],
                         capture_output=True, text=True, check=True).stdout
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("-------"))
    rows = []
    for line in lines[start + 1:]:
        if not line.strip() or line.startswith("Network summary"):
            break
        cells = line.split()
        rows.append((cells[2], int(float(cells[5])), " ".join(cells[15:])))
    count = {k: int(re.search(rf"^{k} operators = (\d+)", out, re.M).group(1)) for k in ("CPU", "NPU")}
    sram = float(re.search(r"^Total SRAM used\s+([\d.]+) KiB", out, re.M).group(1))
    return rows, count, sram


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("npu_name", ["ethos-u55-128", "ethos-u65-256", "ethos-u85-256"])
def test_figures_equal_what_the_vela_command_prints(models, name, npu_name, tmp_path):
    npu = find_npu(npu_name)
    report = compile_for(models[name], npu, "m")
    rows, count, sram = _vela_command(models[name], npu, tmp_path)
    assert sum(c for t, c, _ in rows if t == "NPU") == sum(o.cycles for o in report.npu_ops)
    where = {n: t for t, _, n in rows}  # each operator of the model where the command placed it
    assert all(where[o.name[:len(n)] if (n := next((n for n in where if o.name.startswith(n)), "")) else o.name]
               == o.target for o in report.ops)
    assert len(report.cpu_ops) == count["CPU"] and (count["NPU"] > 0) == bool(report.npu_ops)
    assert abs(report.sram_bytes / 1024 - sram) < 0.006
    assert report.label == f"estimate (Vela 5.2.0, {npu.title})" and report.compiled[4:8] == b"TFL3"
    assert report.total_cycles >= report.npu_cycles > 0 and report.inference_ms > 0


def test_float_io_stays_on_the_cpu_with_the_reason_and_what_to_change(models):
    report = compile_for(models["cnn, float I/O"], find_npu("ethos-u55-128"), "cnn")
    assert [o.op for o in report.cpu_ops] == ["QUANTIZE", "DEQUANTIZE"]
    quantize = report.cpu_ops[0]
    assert "Float32" in quantize.reason and "PTQ mode int8" in quantize.advice
    assert {o.op for o in report.npu_ops} >= {"CONV_2D", "FULLY_CONNECTED"}
    int8 = compile_for(models["cnn, int8 I/O"], find_npu("ethos-u55-128"), "cnn")
    assert not int8.cpu_ops and len(int8.npu_ops) >= 3


def test_a_boards_npu_clock_is_its_own_configuration(models):
    from core.devices import find

    device = find("Himax")
    npu = device.npu_config()
    assert npu.name == "ethos-u55-64" and npu.clock_mhz == 400 and "Himax WE2" in npu.title
    at_board = compile_for(models["depthwise block"], npu, "m")
    at_arm = compile_for(models["depthwise block"], find_npu("ethos-u55-64"), "m")
    assert at_board.clock_hz == 400e6 and at_arm.clock_hz == 500e6
    assert at_board.inference_ms == pytest.approx(at_board.total_cycles / 400e3, rel=1e-3)
    assert "400 MHz (Himax WE2)" in at_board.label


def test_a_model_vela_refuses_is_named(tmp_path):
    from core.errors import TargetError

    data = (Path(__file__).resolve().parents[2].parent / "shared" / "models" / "kws_ref_model.tflite")
    if not data.is_file():
        pytest.skip("../shared/models is not beside the checkout")
    broken = bytearray(data.read_bytes())
    broken[len(broken) // 2: len(broken) // 2 + 64] = b"\xff" * 64
    with pytest.raises(TargetError, match="kws_broken"):
        compile_for(bytes(broken), find_npu("ethos-u55-128"), "kws_broken")


def test_the_npu_command_prints_placement_and_estimates(models, tmp_path, capsys):
    from cli.commands import main

    path = tmp_path / "cnn.tflite"
    path.write_bytes(models["cnn, float I/O"])
    assert main(["npu", str(path), "--device", "Alif", "--out", str(tmp_path / "vela")]) == 0
    out = capsys.readouterr().out
    assert "estimate (Vela 5.2.0, Ethos-U55-256" in out and "QUANTIZE" in out and "PTQ mode int8" in out
    assert (tmp_path / "vela" / "cnn_ethos-u55-256_vela.tflite").is_file()
    assert main(["npu", str(path), "--device", "nRF52840"]) == 2  # no NPU there: said, not a traceback


def test_a_run_with_an_npu_gives_every_tflite_variant_vela_figures(tmp_path, reference_h5):
    import json

    from core.recipe import Recipe
    from core.report import table, write_report
    from core.runner import run_recipe

    recipe = Recipe.from_dict({"model": str(reference_h5), "data": "mnist-5k", "latency_runs": 0, "npu": "ethos-u85-256",
                               "steps": [{"name": "quantize", "params": {"modes": ["full-int", "int8"]}}]})
    result = run_recipe(recipe)
    original, full_int, int8 = result.variants
    assert original.metrics.npu is None and "Keras model" in original.metrics.npu_note
    assert [o.op for o in full_int.metrics.npu.cpu_ops] == ["QUANTIZE", "DEQUANTIZE"] and not int8.metrics.npu.cpu_ops
    assert int8.metrics.npu.label.startswith("estimate (Vela 5.2.0, Ethos-U85-256")
    assert "NPU est. ms" in table([v.metrics for v in result.variants])
    from core.search.objectives import measure  # a search on an NPU device minimises Vela's figures

    assert measure(int8.metrics, "latency") == int8.metrics.npu.total_cycles
    assert measure(int8.metrics, "ram") == int8.metrics.npu.sram_bytes + int8.metrics.tflm.arena_tail
    saved = json.loads(write_report(result, tmp_path / "report.json").read_text())
    assert any(v.get("npu") and v["npu"]["npu_cycles"] > 0 for v in saved["variants"])
