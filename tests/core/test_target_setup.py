"""Target set-up without building anything: what a user is told when a program or the TFLM tree
is missing, where the tree is found, and that a build stops when cancelled."""

import pytest

from core.errors import Cancelled, TinyOptError


def test_missing_toolchain_names_the_packages_to_install(monkeypatch):
    from core.target import toolchain

    monkeypatch.setattr(toolchain.shutil, "which", lambda name: None if name == "qemu-system-arm" else "/usr/bin/x")
    with pytest.raises(TinyOptError, match=r"need qemu-system-arm, which this machine lacks.*apt-get install .*qemu-system-arm"):
        toolchain.require()
    assert not toolchain.available()


def test_tree_location_option_environment_and_errors(tmp_path, monkeypatch):
    from core.target.tree import ENV, default_root, locate

    monkeypatch.setenv(ENV, str(tmp_path))
    assert default_root() == tmp_path
    with pytest.raises(TinyOptError, match="is not a TFLM source tree.*--tflm-tree"):
        locate()
    (tmp_path / "tensorflow/lite/micro").mkdir(parents=True)
    (tmp_path / "tensorflow/lite/micro/micro_interpreter.cc").write_text("")
    with pytest.raises(TinyOptError, match="lacks the CMSIS-NN kernels"):
        locate(tmp_path)


def test_shared_tree_is_found_with_its_commit_and_both_kernel_sets(monkeypatch):
    from core.target.tree import ENV, REPLACED, locate

    monkeypatch.delenv(ENV, raising=False)
    try:
        tree = locate()
    except TinyOptError:
        pytest.skip("../shared/tflm is not beside the checkout")
    assert len(tree.commit) == 40
    reference = tree.kernel_sources("reference")
    cmsis = tree.kernel_sources("cmsis-nn")
    assert len(reference) == len(REPLACED) and all(p.is_file() for p in reference)
    assert any(p.suffix == ".c" for p in cmsis) and not set(reference) & set(tree.common_sources())


def test_a_cancelled_build_stops_before_compiling(tmp_path, monkeypatch):
    from core.target import build, toolchain
    from core.target.targets import get

    if not toolchain.available():
        pytest.skip("the Arm toolchain is not installed")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    seen = []
    with pytest.raises(Cancelled):
        build.firmware(get("cortex-m7"), "reference", cancel=lambda: True, progress=lambda f, t: seen.append(t))
    assert not list(tmp_path.rglob("*.o")) and seen  # nothing compiled, the start was reported
