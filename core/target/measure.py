"""Run a .tflite on an emulated Cortex-M: outputs, the arena TFLM used there, and the exact
instructions executed by Invoke(), in total and per operator.

The prebuilt runner (core/target/build.py) reads the model and the inputs through semihosting from
a temporary folder; QEMU runs it with the instruction-counting plugin. Nothing is compiled per
model, so a measurement costs the emulation alone.
"""

from __future__ import annotations

import functools
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from core.errors import TargetError, TinyOptError
from core.probes.isolation import temp_dir
from core.target.build import Firmware
from core.target.targets import get

TIMEOUT_S = 600


@dataclass
class OpCost:
    index: int
    op: str  # TFLM's name for it, e.g. CONV_2D
    instructions: int
    macs: int | None = None  # None: not modelled (core.analysis.macs)
    cycles_estimate: int | None = None  # the target's timing model applied to the op's instructions
    kernels: list = field(default_factory=list)  # [name, times]: the kernel library's functions it entered

    @property
    def macs_per_instruction(self) -> float | None:
        return self.macs / self.instructions if self.macs and self.instructions else None

    @property
    def kernel(self) -> str:
        """The kernel functions it ran (dispatching wrappers left out), e.g. 'arm_convolve_s8,
        arm_nn_mat_mult_kernel_s8_s16 x84'; '' for operators TFLM runs itself."""
        return ", ".join(name + (f" x{times}" if times > 1 else "") for name, times in self.kernels
                         if "_wrapper_" not in name)


@dataclass
class TargetRun:
    """What one model did on one target. Instructions are exact (counted by the emulator)."""

    target: str
    kernels: str
    arena_used: int  # bytes TFLM used on the target (arena_used_bytes)
    instructions: int  # per inference: the first sample's Invoke()
    per_sample: list  # instructions of each sample's Invoke()
    ops: list = field(default_factory=list)  # OpCost of the first sample, in execution order
    outputs: list = field(default_factory=list)  # raw output tensors per output, one row per sample
    samples: int = 0
    seconds: float = 0.0  # wall time of the emulation
    build: dict = field(default_factory=dict)  # the runner's build.json (commit, compiler, flags)
    cycles_estimate: int | None = None  # per inference; None where there is no honest model
    estimate_model: str = ""  # how the estimate is made, or why there is none
    clock_mhz: int | None = None  # the device clock the time estimate assumes
    matches_host: bool | None = None  # outputs bit-identical to the host TFLM's (None: not compared)
    host_difference: str = ""  # what differs, when they are not

    @property
    def ms_estimate(self) -> float | None:
        """Estimated time per inference at the device clock (an estimate, like its cycles)."""
        return self.cycles_estimate / (self.clock_mhz * 1e3) if self.cycles_estimate and self.clock_mhz else None

    @property
    def deterministic(self) -> bool:
        return len(set(self.per_sample)) <= 1

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("outputs")
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TargetRun":
        known = {f for f in cls.__dataclass_fields__}
        run = cls(**{k: v for k, v in d.items() if k in known})
        run.ops = [OpCost(**{k: v for k, v in op.items() if k in OpCost.__dataclass_fields__}) if isinstance(op, dict)
                   else op for op in run.ops]
        return run


def run(data: bytes, inputs, runner: Firmware, *, arena: int | None = None, timeout: float = TIMEOUT_S) -> TargetRun:
    """Run `data` on `runner`'s target for each sample of `inputs`: an array with the model's input
    dtype and shape (first axis = sample), or a list of such arrays, one per input in the model's
    order; `arena` limits the tensor arena to that many bytes. Raises TinyOptError with the
    runner's reason when the model does not run there."""
    from core.analysis.tflite_reader import dtype_name, read_model

    sg = read_model(data).subgraphs[0]
    xs = inputs if isinstance(inputs, list) else [inputs]
    if len(xs) != len(sg.inputs):
        raise TargetError(f"the model takes {len(sg.inputs)} inputs; {len(xs)} given")
    n = len(xs[0])
    blob = b"".join(np.ascontiguousarray(x[i]).tobytes() for i in range(n) for x in xs)
    outs = [sg.tensors[k] for k in sg.outputs]
    with temp_dir("target") as tmp:
        tmp = Path(tmp)
        (tmp / "model.tflite").write_bytes(data)
        (tmp / "input.bin").write_bytes(blob)
        if arena is not None:
            (tmp / "arena.txt").write_text(f"{int(arena)}\n")
        target = get(runner.target)
        entries = kernel_entries(runner.elf)
        (tmp / "kernels.txt").write_text("".join(f"{address:x}\n" for address, _ in entries))
        plugin = f"{runner.plugin},mark={runner.mark:#x},out={tmp / 'marks.txt'},kernels={tmp / 'kernels.txt'}"
        if target.timing:
            plugin += f",timing={target.timing}"
        cmd = ["qemu-system-arm", "-M", target.machine, "-nographic", "-monitor", "none",
               "-semihosting-config", "enable=on,target=native", "-kernel", str(runner.elf), "-plugin", plugin]
        started = time.monotonic()
        try:
            proc = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise TargetError(f"The model did not finish on {runner.target} within {timeout:.0f} s.") from None
        seconds = time.monotonic() - started
        report = _parse(proc.stdout)
        if proc.returncode != 0 or "done" not in report:
            reason = report.get("error") or (proc.stderr or proc.stdout).strip()[-600:] or f"exit code {proc.returncode}"
            raise TargetError(f"The model does not run on {runner.target} ({runner.kernels}): {reason}")
        marks, entered = [], {}
        for line in (tmp / "marks.txt").read_text().splitlines():
            if line and line[0].isdigit():
                marks.append(tuple(int(v) for v in line.split()))
            elif line.startswith("k ") and marks:  # entered before this mark, after the one before it
                index, times = (int(v) for v in line.split()[1:3])
                entered.setdefault(len(marks) - 1, []).append([entries[index][1], times])
        raw = (tmp / "output.bin").read_bytes()
    ops = report["ops"]
    per = 2 * len(ops) + 2
    if len(marks) != per * n:
        raise TargetError(f"instruction marks do not match the operators ({len(marks)} marks, "
                           f"{len(ops)} operators, {n} samples)")
    per_sample = [marks[s * per + per - 1][0] - marks[s * per][0] for s in range(n)]
    first = marks[:per]
    macs = _macs(data)
    timed = target.timing is not None
    costs = [OpCost(i, name, first[2 + 2 * i][0] - first[1 + 2 * i][0], macs[i] if i < len(macs) else None,
                    first[2 + 2 * i][1] - first[1 + 2 * i][1] if timed else None, entered.get(2 + 2 * i, []))
             for i, name in enumerate(ops)]
    outputs, offset = [], 0
    sizes = [int(np.prod(t.shape)) * np.dtype(dtype_name(t)).itemsize for t in outs]
    rows = np.frombuffer(raw, np.uint8).reshape(n, sum(sizes)) if n else np.zeros((0, sum(sizes)), np.uint8)
    for t, size in zip(outs, sizes):
        part = np.ascontiguousarray(rows[:, offset:offset + size])
        outputs.append(part.view(np.dtype(dtype_name(t))).reshape((n, *[int(d) for d in t.shape[1:]])))
        offset += size
    model = ("estimate: the Cortex-M4 instruction timing table applied to the executed instructions, no "
             "wait states (see core/target/plugin/insn_count.c)") if timed \
        else f"not estimated: {target.no_timing_why}"
    return TargetRun(runner.target, runner.kernels, report["arena_used"], per_sample[0] if n else 0, per_sample,
                     costs, outputs, n, round(seconds, 3), runner.info,
                     first[-1][1] - first[0][1] if timed and n else None, model, target.clock_mhz)


@functools.lru_cache(maxsize=16)
def kernel_entries(elf: Path) -> tuple:
    """((address, name), ...) of the kernel library's functions in the runner (CMSIS-NN's arm_*):
    the plugin counts their entries per operator, which names the kernel each operator took."""
    table = subprocess.run(["arm-none-eabi-nm", str(elf)], capture_output=True, text=True).stdout
    found = []
    for line in table.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "Tt" and parts[2].startswith("arm_") and \
                not parts[2].endswith(("_get_buffer_size", "_get_buffer_size_mve", "_get_buffer_size_dsp")):
            found.append((int(parts[0], 16), parts[2]))
    return tuple(found)


def sample_inputs(data: bytes, n: int = 1, *, seed: int = 0, zeros: bool = False):
    """`n` inputs in the model's own input types and shapes: random over the integer type's range
    (or 0..1 for floats), or zeros. An array, or a list with one per input (model order)."""
    from core.analysis.tflite_reader import dtype_name, read_model

    sg = read_model(data).subgraphs[0]
    rng = np.random.default_rng(seed)
    xs = []
    for i in sg.inputs:
        t = sg.tensors[i]
        dtype, shape = np.dtype(dtype_name(t)), (n, *[int(d) for d in t.shape[1:]])
        if zeros:
            xs.append(np.zeros(shape, dtype))
        elif np.issubdtype(dtype, np.integer):
            info = np.iinfo(dtype)
            xs.append(rng.integers(info.min, info.max, shape, endpoint=True).astype(dtype))
        else:
            xs.append(rng.uniform(0, 1, shape).astype(dtype))
    return xs if len(xs) > 1 else xs[0]


def loads_at(data: bytes, runner: Firmware, arena: int) -> bool:
    """True when the model allocates and runs on the target with an arena of `arena` bytes."""
    try:
        run(data, sample_inputs(data, zeros=True), runner, arena=arena)
        return True
    except TinyOptError:
        return False


def _parse(stdout: str) -> dict:
    report = {"ops": []}
    for line in stdout.splitlines():
        word, _, rest = line.strip().partition(" ")
        if word == "arena_used":
            report["arena_used"] = int(rest)
        elif word == "op":
            report["ops"].append(rest.split(" ", 1)[1])
        elif word == "error":
            report["error"] = rest
        elif word == "done":
            report["done"] = True
    return report


def _macs(data: bytes) -> list:
    """MACs of each operator in execution order (TFLM runs subgraph 0's operators in order)."""
    from core.analysis.graph import build_graph
    from core.analysis.macs import op_macs

    try:
        graph = build_graph(data)
        return [op_macs(op, graph) for op in graph.ops]
    except Exception:  # MACs are a figure beside the counts; never a reason to fail
        return []
