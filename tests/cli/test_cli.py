"""The `tinyopt` command line end to end, in a child process as a user runs it."""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT, shared_model


def tinyopt(*args, env=None, timeout=600):
    e = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "cli", *map(str, args)], cwd=ROOT, env=e,
                          capture_output=True, text=True, timeout=timeout)


def test_analyze_reports_tflm_arena():
    p = tinyopt("analyze", shared_model("kws_ref_model.tflite"))
    assert p.returncode == 0, p.stderr
    assert "total 24,272 bytes" in p.stdout and "Runs on TFLM: yes" in p.stdout


def test_analyze_json():
    p = tinyopt("analyze", shared_model("seed_cnn_fashion_int8.tflite"), "--json")
    data = json.loads(p.stdout)
    assert data["tflm"]["arena_total"] == 11_952 and data["size_bytes"] == 23_208


def test_run_model_with_steps_writes_variants_report_and_recipe(reference_h5, tmp_path):
    out = tmp_path / "out"
    p = tinyopt("run", "--model", reference_h5, "--steps", "quantize:int8,quantize:dynamic",
                "--out", out, "--latency-runs", "10")
    assert p.returncode == 0, p.stderr
    assert {f.name for f in out.iterdir()} >= {"original.h5", "int8.tflite", "dynamic.tflite",
                                               "report.json", "recipe.json"}
    report = json.loads((out / "report.json").read_text())
    assert [v["name"] for v in report["variants"]] == ["original", "int8", "dynamic"]
    assert "int8" in p.stdout and "dynamic" in p.stdout
    recipe = json.loads((out / "recipe.json").read_text())
    assert recipe["input_range"] == [0.0, 1.0]
    assert report["recipe"] == recipe  # the detected input range is recorded, in both files
    # the written recipe reproduces the run
    again = tmp_path / "again"
    p2 = tinyopt("run", "--recipe", out / "recipe.json", "--out", again, "--latency-runs", "5")
    assert p2.returncode == 0, p2.stderr
    assert (again / "int8.tflite").read_bytes() == (out / "int8.tflite").read_bytes()


@pytest.mark.parametrize("args,words", [
    (["analyze", "missing.tflite"], "no such file"),
    (["run", "--model", "x.h5", "--steps", "shrink", "--out", "o"], "Unknown step 'shrink'"),
])
def test_errors_exit_nonzero_with_message(args, words, tmp_path):
    p = tinyopt(*args)
    assert p.returncode != 0 and words in p.stderr and "Traceback" not in p.stderr


def test_bad_model_file_message(tmp_path):
    bad = tmp_path / "notes.tflite"
    bad.write_text("this is not a model\n")
    p = tinyopt("analyze", bad)
    assert p.returncode == 2 and "notes.tflite" in p.stderr and "Traceback" not in p.stderr


@pytest.fixture(scope="module")
def demo_cache(tmp_path_factory):
    """A fresh cache shared by the demo runs: the first trains the reference CNN, the rest reuse it."""
    return tmp_path_factory.mktemp("cache")


def test_demo(tmp_path, demo_cache):
    out = tmp_path / "demo"
    p = tinyopt("run", "--demo", "--out", out, "--latency-runs", "50",
                env={"XDG_CACHE_HOME": str(demo_cache)})
    assert p.returncode == 0, p.stderr[-2000:]
    rows = {v["name"]: v for v in json.loads((out / "report.json").read_text())["variants"]}
    assert list(rows) == ["original", "dynamic", "float16", "full-int", "int8", "16x8"]
    int8, float_model = rows["int8"], rows["original"]
    assert int8["tflm"]["runs"] and int8["tflm"]["arena_total"] > 0
    assert abs(int8["accuracy"] - float_model["accuracy"]) <= 0.01
    dynamic = rows["dynamic"]["tflm"]
    assert not dynamic["runs"] and "Hybrid" in dynamic["reason"] and "FULLY_CONNECTED" in dynamic["reason"]
    assert (demo_cache / "tinyopt").is_dir()  # the trained reference is reused next time


def test_presets_listed():
    p = tinyopt("presets")
    assert p.returncode == 0 and "smallest-tflm" in p.stdout and "prune -> quantize" in p.stdout


def test_smallest_tflm_preset_beats_the_study(tmp_path, demo_cache):
    out = tmp_path / "smallest"
    p = tinyopt("run", "--demo", "--preset", "smallest-tflm", "--out", out, "--latency-runs", "10",
                env={"XDG_CACHE_HOME": str(demo_cache)})
    assert p.returncode == 0, p.stderr[-2000:]
    rows = json.loads((out / "report.json").read_text())["variants"]
    assert rows[-1]["name"] == "clustered+qat+int8+stripped+compressed"
    best, float_model = rows[-1], rows[0]
    assert best["size_bytes"] <= 11_600 < 23_208 and best["tflm"]["runs"]
    assert best["accuracy"] >= float_model["accuracy"] - 0.01
    assert best["steps"]["compress"]["arena_added"] > 0  # the RAM it costs is reported


def test_export_command(tmp_path):
    p = tinyopt("export", "--model", shared_model("kws_ref_model.tflite"), "--out", tmp_path, "--zip")
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "kws_ref_model-original" / "op_resolver.h").exists()
    assert (tmp_path / "kws_ref_model-original.zip").exists()
    again = tinyopt("export", "--model", shared_model("kws_ref_model.tflite"), "--out", tmp_path)
    assert again.returncode == 2 and "already exists" in again.stderr


def test_no_data_given_runs_a_model_the_default_set_does_not_fit_without_data(tmp_path):
    """The default (mnist-5k) serves 28x28 models only; a 32x32x3 model given no --data runs with
    none, and the log says so, instead of refusing the command's own default."""
    out = tmp_path / "out"
    p = tinyopt("run", "--model", shared_model("pretrainedResnet_quant.tflite"), "--steps", "strip",
                "--out", out, "--latency-runs", "2")
    assert p.returncode == 0, p.stderr
    assert "default 'mnist-5k' set does not fit this model's input (32x32x3): running without data" in p.stderr
    assert json.loads((out / "recipe.json").read_text())["data"] is None
    p = tinyopt("run", "--model", shared_model("pretrainedResnet_quant.tflite"), "--steps", "strip",
                "--data", "mnist-5k", "--out", tmp_path / "asked")
    assert p.returncode != 0 and "serves only models that take 28x28" in p.stderr  # asked for: refused


def test_run_with_a_device_judges_the_whole_firmware(tmp_path):
    """The study's int8 CNN (23,208 B) fits a 64 KB flash by its bytes, not with the TFLM code it
    links: the table says NO and what is over."""
    from core.target import toolchain

    if not toolchain.available() and not os.environ.get("TINYOPT_REQUIRE_TARGET"):
        pytest.skip("the Arm toolchain and QEMU are not installed (make setup-target)")
    p = tinyopt("run", "--model", shared_model("seed_cnn_fashion_int8.tflite"), "--data", "none", "--steps", "strip",
                "--device", "nrf52840", "--flash-kb", "64", "--out", tmp_path / "out", "--latency-runs", "5",
                timeout=1800)
    assert p.returncode == 0, p.stderr
    rows = {line.split()[0]: line for line in p.stdout.splitlines() if line.startswith(("original", "stripped"))}
    assert "fw flash" in p.stdout and "fits device" in p.stdout
    assert " NO " in rows["original"] and " NO " in rows["stripped"]
    assert "original does not fit" in p.stdout and "> flash 65,536 B" in p.stdout
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    fp = report["variants"][0]["footprint"]
    assert fp["model"] == 23_208 < 65_536 < fp["flash_total"]
    assert fp["ram_total"] == fp["arena"] + fp["static_ram"] + fp["stack"]
