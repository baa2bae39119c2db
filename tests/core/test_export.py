"""Export packages: compilable C, the exact op resolver, a verified arena, atomic and reproducible."""

import os
import re
import shutil
import subprocess

import pytest

from core.artifact import Artifact
from core.errors import ExportError
from core.export import FILES, export_package
from core.export import package as package_module
from core.measure.tflm_check import loads_at
from tests.conftest import shared_model


@pytest.fixture(scope="module")
def kws():
    return Artifact("tflite", "original", "kws_ref_model.tflite",
                    data=shared_model("kws_ref_model.tflite").read_bytes())


@pytest.fixture(scope="module")
def kws_package(kws, tmp_path_factory):
    return export_package(kws, tmp_path_factory.mktemp("exp"), prefix="g_kws")


def _resolver_ops(folder):
    return re.findall(r"resolver\.(Add\w+)\(\)", (folder / "op_resolver.h").read_text())


def test_package_holds_every_file(kws_package):
    assert sorted(os.listdir(kws_package)) == sorted(FILES)
    assert (kws_package / "model.tflite").read_bytes() == shared_model("kws_ref_model.tflite").read_bytes()
    assert "alignas(16) const unsigned char g_kws[]" in (kws_package / "model_data.cc").read_text()


def test_op_resolver_lists_exactly_the_model_ops(kws_package):
    ops = _resolver_ops(kws_package)
    assert ops == ["AddAveragePool2D", "AddConv2D", "AddDepthwiseConv2D", "AddFullyConnected",
                   "AddReshape", "AddSoftmax"]
    assert "MicroMutableOpResolver<kNumOps>" in (kws_package / "op_resolver.h").read_text()
    assert "constexpr int kNumOps = 6;" in (kws_package / "op_resolver.h").read_text()


@pytest.mark.skipif(shutil.which("g++") is None, reason="no C++ compiler on this machine")
def test_model_data_compiles(kws_package, tmp_path):
    p = subprocess.run(["g++", "-std=c++17", "-c", str(kws_package / "model_data.cc"), "-o",
                        str(tmp_path / "model_data.o")], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr


def test_arena_size_and_size_minus_margin_load_on_tflm(kws, kws_package):
    text = (kws_package / "model_settings.h").read_text()
    size = int(re.search(r"kTensorArenaSize = (\d+);", text).group(1))
    margin = int(re.search(r"plus a (\d+)-byte margin", text).group(1))
    assert loads_at(kws.data, size) and loads_at(kws.data, size - margin)
    assert size - margin == 24_272


def test_reference_int8_variant(trained_reference, adapted_mnist, tmp_path):
    from core.steps.quantize import convert

    data = convert(trained_reference.model, "int8", adapted_mnist)
    art = trained_reference.derive(kind="tflite", name="int8", step="quantize:int8", data=data)
    folder = export_package(art, tmp_path, labels=[str(i) for i in range(10)])
    assert _resolver_ops(folder) == ["AddConv2D", "AddFullyConnected", "AddMaxPool2D", "AddReshape"]
    settings = (folder / "model_settings.h").read_text()
    assert "input: int8 [1, 28, 28]" in settings and "kNumLabels = 10" in settings


def test_two_exports_of_the_same_recipe_are_byte_identical(reference_h5, tmp_path):
    from core.recipe import Recipe
    from core.runner import run_recipe

    outs = []
    for i in range(2):
        recipe = Recipe(model=str(reference_h5), steps=[{"name": "quantize", "params": {"modes": ["int8"]}}],
                        latency_runs=5)
        res = run_recipe(recipe, tflm=False)
        outs.append(export_package(res.variants[1].artifact, tmp_path / str(i), recipe=recipe))
    for name in ("model.tflite", "model_data.h", "model_data.cc", "op_resolver.h", "model_settings.h",
                 "main_example.cc"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name


def test_existing_package_is_not_overwritten(kws, kws_package):
    before = {f: (kws_package / f).read_bytes() for f in FILES}
    with pytest.raises(ExportError, match="already exists"):
        export_package(kws, kws_package.parent, prefix="other")
    assert {f: (kws_package / f).read_bytes() for f in FILES} == before


def test_unwritable_destination_leaves_nothing(kws, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    with pytest.raises(ExportError, match="Cannot create"):
        export_package(kws, blocker / "out")
    assert os.listdir(tmp_path) == ["a_file"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_destination(kws, tmp_path):
    tmp_path.chmod(0o555)
    try:
        with pytest.raises(ExportError, match="permission denied"):
            export_package(kws, tmp_path)
    finally:
        tmp_path.chmod(0o755)


def test_failure_mid_export_leaves_the_old_package(kws, kws_package, monkeypatch):
    before = {f: (kws_package / f).read_bytes() for f in FILES}
    real = package_module.Path.write_bytes
    calls = []

    def failing(self, data):
        calls.append(self.name)
        if len(calls) == 4:
            raise OSError(28, "No space left on device")
        return real(self, data)

    monkeypatch.setattr(package_module.Path, "write_bytes", failing)
    with pytest.raises(ExportError, match="Nothing was changed"):
        export_package(kws, kws_package.parent, prefix="g_kws", overwrite=True)
    monkeypatch.undo()
    assert sorted(os.listdir(kws_package.parent)) == [kws_package.name]  # no partial folders left
    assert {f: (kws_package / f).read_bytes() for f in FILES} == before


def test_bad_prefix_refused(kws, tmp_path):
    with pytest.raises(ExportError, match="not a valid C identifier"):
        export_package(kws, tmp_path, prefix="9lives")
