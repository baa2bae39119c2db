"""An export for an Ethos-U device: Vela's model with AddEthosU(), the NPU driver started in the
example main, an arena labelled as an estimate, and a package that builds and links the ethos-u
operator and Arm's driver for the Cortex-M55 (it cannot run here: QEMU has no NPU)."""

import json
import os

import numpy as np
import pytest

pytest.importorskip("ethosu.vela")

from core.target import toolchain  # noqa: E402

if not toolchain.available() and not os.environ.get("TINYOPT_REQUIRE_TARGET"):
    pytest.skip("the Arm toolchain and QEMU are not installed (make setup-target)", allow_module_level=True)

pytestmark = pytest.mark.timeout(1800)  # the first test to need the M55 builds TFLM for it (minutes)


@pytest.fixture(scope="module")
def int8_cnn():
    from core.artifact import Artifact
    from core.data import Dataset
    from core.steps.quantize import convert
    from core.tf_env import keras

    k = keras()
    model = k.Sequential([k.layers.Input((28, 28, 1)), k.layers.Conv2D(8, 3, activation="relu"),
                          k.layers.MaxPooling2D(), k.layers.Flatten(), k.layers.Dense(10)])
    x = np.random.default_rng(0).uniform(0, 1, (32, 28, 28, 1)).astype(np.float32)
    data = convert(model, "int8", Dataset("random", x, np.zeros(32, int), x[:4], np.zeros(4, int)))
    return Artifact("tflite", "int8", "cnn.tflite", data=data)


def test_an_npu_package_holds_velas_model_and_builds_with_the_driver(int8_cnn, tmp_path):
    from core.analysis.tflite_reader import op_names, read_model
    from core.devices import find
    from core.export import export_package
    from core.export.npu_package import ethosu_root, verify_npu_package
    from core.target.build import firmware
    from core.target.targets import get

    if ethosu_root() is None:
        pytest.skip("../shared/ethos-u is not beside the checkout")
    npu = find("Himax").npu_config()
    m55 = firmware(get("cortex-m55"), "cmsis-nn")
    package = export_package(int8_cnn, tmp_path, target=m55, npu=npu)
    assert op_names(read_model((package / "model.tflite").read_bytes())) == ["CUSTOM:ethos-u"]
    assert "resolver.AddEthosU()" in (package / "op_resolver.h").read_text()
    main = (package / "main_example.cc").read_text()
    assert "ethosu_init(&npu_driver" in main and "StartNpu() != kTfLiteOk" in main
    settings = (package / "model_settings.h").read_text()  # measured on the M55, allocating without the NPU
    assert "AllocateTensors with the ethos-u operator, the NPU not invoked" in settings
    assert "it was not run (no NPU)" in settings and (package / "npu_arena_main.cc").is_file()
    assert "ETHOSU_ARCH ?= u55" in (package / "Makefile").read_text()
    report = json.loads((package / "report.json").read_text())
    assert report["settings"]["npu"].startswith("Ethos-U55-64") and report["settings"]["cpu_ops"] == []
    assert "QEMU has no NPU" in (package / "README.md").read_text() or "without the NPU" in (package / "README.md").read_text()
    message = verify_npu_package(package, m55)
    assert "ethos-u operator linked" in message and "Not run" in message and "(measured)" in message
    used = report["settings"]["arena_used_on_target"]
    assert f"the model uses {used:,} B" in message


def test_without_a_target_the_npu_arena_is_velas_estimate(int8_cnn, tmp_path):
    from core.export import export_package
    from core.npu.configs import find_npu

    package = export_package(int8_cnn, tmp_path, npu=find_npu("ethos-u85-256"))
    settings = (package / "model_settings.h").read_text()
    assert "an estimate: Vela's SRAM" in settings and "not measured" in settings
    assert "ETHOSU_ARCH ?= u85" in (package / "Makefile").read_text()


def test_an_npu_whose_arena_is_in_dram_is_not_packaged_yet(int8_cnn, tmp_path):
    from core.errors import ExportError
    from core.export import export_package
    from core.npu.configs import find_npu

    with pytest.raises(ExportError, match="only Shared_Sram configurations"):
        export_package(int8_cnn, tmp_path, npu=find_npu("ethos-u65-256"))
