"""The TFLM source tree a target build compiles: where it is, which commit, which files.

The tree is made by TFLM's create_tflm_tree.py with the CMSIS-NN kernels plus the reference
kernels they replace (see ../shared/tflm/SOURCES.md), so one tree serves both kernel sets. It is
read-only input: builds go to the user's cache.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from core.errors import TargetError, setting

ENV = "TINYOPT_TFLM_TREE"
# The kernels the CMSIS-NN build replaces: kernels/cmsis_nn/<name>.cc instead of kernels/<name>.cc.
REPLACED = ("add", "batch_matmul", "conv", "depthwise_conv", "fully_connected", "maximum_minimum", "mul",
            "pad", "pooling", "softmax", "svdf", "transpose", "transpose_conv", "unidirectional_sequence_lstm")
INCLUDES = (".", "third_party/flatbuffers/include", "third_party/gemmlowp", "third_party/ruy",
            "third_party/kissfft", "third_party/cmsis/CMSIS/Core/Include", "third_party/cmsis_nn",
            "third_party/cmsis_nn/Include", "third_party/cmsis")
# Test doubles and the recording allocator: nothing the runner links uses them.
UNUSED = ("test_helpers.cc", "test_helper_custom_ops.cc", "fake_micro_context.cc", "mock_micro_graph.cc",
          "recording_micro_allocator.cc", "recording_single_arena_buffer_allocator.cc")
CHECKOUT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Tree:
    root: Path
    commit: str  # tflite-micro commit (from SOURCES.md), or "unknown"

    def common_sources(self) -> list[Path]:
        """Framework and kernels shared by both kernel sets (signal-processing ops left out)."""
        kernels = self.root / "tensorflow/lite/micro/kernels"
        replaced = {kernels / f"{n}.cc" for n in REPLACED}
        return sorted(p for p in (self.root / "tensorflow").rglob("*.cc")
                      if p not in replaced and "cmsis_nn" not in p.parts and p.name not in UNUSED)

    def kernel_sources(self, kernels: str) -> list[Path]:
        k = self.root / "tensorflow/lite/micro/kernels"
        if kernels == "reference":
            return [k / f"{n}.cc" for n in REPLACED]
        return sorted((k / "cmsis_nn").glob("*.cc")) + sorted((self.root / "third_party/cmsis_nn/Source").rglob("*.c"))

    def include_flags(self) -> list[str]:
        return [f"-I{self.root / d}" for d in INCLUDES]


def default_root() -> Path | None:
    """The tree named by $TINYOPT_TFLM_TREE, else ../shared/tflm beside the checkout when it exists."""
    env = os.environ.get(ENV)
    if env:
        return Path(env).expanduser()
    beside = CHECKOUT.parent / "shared" / "tflm"
    return beside if beside.is_dir() else None


def locate(root: str | Path | None = None) -> Tree:
    """The tree at `root` (default: `default_root()`), checked to be a TFLM tree with CMSIS-NN."""
    path = Path(root).expanduser() if root else default_root()
    hint = (f"Point TinyOpt at a TensorFlow Lite Micro tree made with create_tflm_tree.py and the "
            f"CMSIS-NN kernels ({setting('tflm_tree')}, or ${ENV}); the README's 'Cortex-M targets' section "
            "says how to make one.")
    if path is None:
        raise TargetError("No TFLM source tree found. " + hint)
    if not (path / "tensorflow/lite/micro/micro_interpreter.cc").is_file():
        raise TargetError(f"{path} is not a TFLM source tree (no tensorflow/lite/micro/micro_interpreter.cc). " + hint)
    if not (path / "tensorflow/lite/micro/kernels/cmsis_nn").is_dir() or \
            not (path / "tensorflow/lite/micro/kernels/conv.cc").is_file():
        raise TargetError(f"{path} lacks the CMSIS-NN kernels or the reference kernels they replace. " + hint)
    return Tree(path.resolve(), _commit(path))


def _commit(path: Path) -> str:
    sources = path / "SOURCES.md"
    if sources.is_file():
        m = re.search(r"tflite-micro\s*\|\s*([0-9a-f]{40})", sources.read_text(errors="replace"))
        if m:
            return m.group(1)
    return "unknown"
