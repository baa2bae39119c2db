"""An int8 .tflite compiled by Arm's Vela for an Ethos-U NPU, and what Vela reports about it.

Vela runs in a child process (core/probes/vela_probe.py: the `vela` command's own main with its
arguments, so the figures are the command's; its C++ core can crash on a damaged model): per operator, NPU or CPU and, for the CPU ones, Vela's reason with what to
change; NPU cycles, total cycles with the memory accesses, SRAM and flash. Nothing here emulates
an NPU: every figure is Vela's estimate and says so (`NpuReport.label`).
"""

from __future__ import annotations

import configparser
import csv
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import TargetError
from core.npu.configs import ARM_INI, Npu

KIB = 1024
TIMEOUT_S = 300  # Vela takes well under a second on MCU models


@dataclass
class NpuOp:
    name: str  # the output tensor's name, as Vela prints it
    op: str  # the input model's operator (CONV_2D...)
    index: int  # its position in the input model (as the emulated cores' per-operator costs)
    target: str  # "NPU" or "CPU"
    cycles: int = 0
    macs: int = 0
    reason: str = ""  # CPU only: Vela's reason
    advice: str = ""  # CPU only: what to change


@dataclass
class NpuReport:
    npu: str  # Npu.title
    vela: str  # Vela's version
    ops: list = field(default_factory=list)
    npu_cycles: int = 0
    total_cycles: int = 0  # with the memory accesses Vela models
    clock_hz: float = 0.0
    inference_ms: float = 0.0
    sram_bytes: int = 0
    flash_bytes: int = 0
    dram_bytes: int = 0
    macs: int = 0
    compiled: bytes | None = None  # the Vela-compiled .tflite (one custom `ethos-u` operator per NPU part)
    compiled_bytes: int = 0
    cpu_instructions_measured: int | None = None  # the CPU operators on the emulated core (exact)

    @property
    def label(self) -> str:
        return f"estimate (Vela {self.vela}, {self.npu})"

    @property
    def cpu_ops(self) -> list:
        return [o for o in self.ops if o.target == "CPU"]

    @property
    def npu_ops(self) -> list:
        return [o for o in self.ops if o.target == "NPU"]

    def cpu_instructions(self, target_run) -> int:
        """Instructions of the operators left on the CPU, from a run of the same model on an emulated
        core (core.target.measure.TargetRun: exact, per operator)."""
        cpu = {o.index for o in self.cpu_ops}
        return sum(op.instructions for op in target_run.ops if op.index in cpu)


def vela_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ethos-u-vela")
    except PackageNotFoundError:
        return ""


def compile_for(data: bytes, npu: Npu, name: str = "model") -> NpuReport:
    """Compile `data` (an int8 .tflite) for `npu`; a TargetError naming the model when Vela refuses."""
    version = vela_version()
    if not version:
        raise TargetError("Ethos-U targets need Vela (ethos-u-vela), which is not installed here: run `make run`.")
    from core.probes.isolation import describe_crash, run_probe

    stem = re.sub(r"[^A-Za-z0-9_]", "_", name) or "model"
    with tempfile.TemporaryDirectory(prefix=f"tinyopt-vela-{os.getpid()}-") as tmp:
        src = Path(tmp) / f"{stem}.tflite"
        src.write_bytes(data)
        out = Path(tmp) / "out"
        argv = [str(src), "--output-dir", str(out), "--accelerator-config", npu.name,
                *[a for ini in _configs(npu, Path(tmp)) for a in ("--config", ini)], "--system-config",
                npu.system_name, "--memory-mode", npu.memory_mode, "--verbose-performance"]
        try:
            proc = run_probe("core.probes.vela_probe", "--vela-probe", argv, timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise TargetError(f"{name}: Vela did not finish within {TIMEOUT_S} s for {npu.title}.") from None
        text = proc.stdout.decode("utf-8", "replace") + "\n" + proc.stderr.decode("utf-8", "replace")
        summary = next(iter(out.glob(f"{stem}_summary_*.csv")), None) if out.is_dir() else None
        if proc.returncode or summary is None:
            said = [line for line in text.splitlines() if line.strip() and not line.startswith(("usage:", " "))]
            detail = " | ".join(said)[-500:] if proc.returncode in (0, 1, 2) else describe_crash(proc.returncode)
            raise TargetError(f"{name}: Vela {version} could not compile it for {npu.title}: {detail}. "
                              "Check that it is an int8 .tflite that TFLM runs.")
        report = _report(npu, version, summary, out / f"{stem}_per-layer.csv", text, _output_names(data))
        report.compiled = (out / f"{stem}_vela.tflite").read_bytes()
        report.compiled_bytes = len(report.compiled)
    return report


def _configs(npu: Npu, folder: Path) -> list[str]:
    """Arm's vela.ini, and for a board's clock a copy of its system configuration at that clock."""
    if not npu.clock_mhz:
        return [ARM_INI]
    from ethosu import vela as package

    arm = configparser.ConfigParser()
    arm.optionxform = str  # Vela's keys are case-sensitive
    arm.read(Path(package.__file__).parent.parent / "config_files" / ARM_INI)
    section = dict(arm[f"System_Config.{npu.system_config}"], core_clock=f"{npu.clock_mhz}e6")
    board = configparser.ConfigParser()
    board.optionxform = str
    board[f"System_Config.{npu.system_name}"] = section
    path = folder / "board.ini"
    with path.open("w") as f:
        board.write(f)
    return [ARM_INI, str(path)]


def _add_ops(report: NpuReport, rows: list, outputs: dict, reasons: dict) -> None:
    """One NpuOp per operator of the input model. Vela's rows are its own operations: one
    operator may become several (Conv2D + Relu under one name; a Softmax as a chain of
    intermediate tensors), which are summed into the operator whose output ends them."""
    carried = [0, 0]
    for row in rows:
        cycles, macs = int(float(row["Op Cycles"])), int(float(row["MAC Count"]))
        last = report.ops[-1] if report.ops else None
        if last is not None and last.name == row["Name"]:
            last.cycles += cycles
            last.macs += macs
            continue
        if row["Name"] not in outputs:  # an intermediate of a decomposed operator
            carried[0] += cycles
            carried[1] += macs
            continue
        index, kind = outputs[row["Name"]]
        op = NpuOp(row["Name"], kind, index, row["Target"], cycles + carried[0], macs + carried[1])
        carried = [0, 0]
        if op.target == "CPU":
            op.reason = reasons.get(op.name, "Vela gave no reason")
            op.advice = advice(op.reason)
        report.ops.append(op)


def _output_names(data: bytes) -> dict:
    """{output tensor name: (operator index, operator name such as CONV_2D)} of the model given to Vela."""
    from core.analysis.tflite_reader import op_name, read_model

    model = read_model(data)
    names = {}
    sg = model.subgraphs[0]
    for index, op in enumerate(sg.operators or []):
        for i in op.outputs:
            name = sg.tensors[i].name
            names[name.decode("utf-8", "replace") if isinstance(name, bytes) else str(name)] = (index, op_name(model, op))
    return names


def _report(npu: Npu, version: str, summary: Path, per_layer: Path, text: str, outputs: dict) -> NpuReport:
    with summary.open() as f:
        s = next(csv.DictReader(f))
    reasons = _reasons(text)
    report = NpuReport(npu=npu.title, vela=version, npu_cycles=int(float(s["cycles_npu"])),
                       total_cycles=int(float(s["cycles_total"])), clock_hz=float(s["core_clock"]),
                       inference_ms=float(s["inference_time"]) * 1e3,
                       sram_bytes=round(float(s["sram_memory_used"]) * KIB),
                       flash_bytes=round((float(s["off_chip_flash_memory_used"])
                                          + float(s["on_chip_flash_memory_used"])) * KIB),
                       dram_bytes=round(float(s["dram_memory_used"]) * KIB), macs=int(float(s["nn_macs"])))
    if per_layer.is_file():
        with per_layer.open() as f:
            _add_ops(report, list(csv.DictReader(f)), outputs, reasons)
    return report


def _reasons(text: str) -> dict:
    """{output tensor name: reason} from Vela's 'Warning (supported operators)' lines."""
    found = {}
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"Warning \(supported operators\) operator: (\S+), ofm: '(.*)'", line)
        if not m:
            continue
        detail = []
        for more in lines[i + 1:]:
            if not more.strip() or more.startswith("Warning") or more.startswith("Network summary"):
                break
            detail.append(more.strip())
        found[m.group(2)] = detail[0].removeprefix("Reason: ") if detail else ""  # the rest: allowed types
    return found


ADVICE = (
    (r"DataType Float32|Float32", "quantize with float-free I/O (PTQ mode int8) so the QUANTIZE/DEQUANTIZE "
                                  "around the model go away"),
    (r"Unsupported opType", "the NPU has no such operator: replace it, or leave it on the CPU (TFLM runs it)"),
    (r"batch", "export with a batch of 1"),
    (r"(?i)stride", "use strides the NPU takes (at most 3 on each axis)"),
    (r"(?i)kernel|filter", "use a smaller kernel (Vela lists the limits: vela --supported-ops-report)"),
    (r"(?i)shape|dimension|height|width|depth", "reshape the layer within the NPU's limits "
                                                 "(vela --supported-ops-report)"),
    (r"(?i)int16|int32|dtype", "quantize this operator to int8"),
)


def advice(reason: str) -> str:
    return next((text for pattern, text in ADVICE if re.search(pattern, reason)),
                "see `vela --supported-ops-report` for the NPU's constraints on this operator")
