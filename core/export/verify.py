"""Verify on target: build a package's own sources for its Cortex-M with its own Makefile (linking
the TFLM library already built for that CPU), run the image in QEMU on real inputs, and check that
it allocates at kTensorArenaSize, that its outputs equal the host TFLM's, and what RunModel costs."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from core.errors import ExportError
from core.probes.isolation import temp_dir
from core.target.build import Firmware
from core.target.targets import get

TIMEOUT_S = 600


@dataclass
class Verification:
    target: str
    kernels: str
    builds: bool
    allocates: bool
    outputs_match: bool
    run_model_instructions: int  # RunModel(): AllocateTensors and one Invoke, exact
    image_bytes: int  # the firmware image's text + data
    message: str

    def to_dict(self) -> dict:
        return asdict(self)


def verify_package(folder, runner: Firmware, *, seed: int = 0) -> Verification:
    """Build and run the package in `folder` for `runner`'s target; ExportError when it does not
    build, allocate or run."""
    from core.analysis.tflite_reader import dtype_name, read_model
    from core.measure.tflm_check import tflm_outputs

    from core.target.measure import sample_inputs

    folder = Path(folder)
    data = (folder / "model.tflite").read_bytes()
    sg = read_model(data).subgraphs[0]
    x = sample_inputs(data, 1, seed=seed)
    if isinstance(x, list):
        raise ExportError("The package's example main feeds one input; this model has several.")
    target = get(runner.target)
    with temp_dir("verify") as tmp:
        work = Path(tmp) / "package"
        shutil.copytree(folder, work)  # the user's package folder stays as exported
        make = subprocess.run(["make", "-C", str(work), "-j2", "build/model.elf", f"TFLM_TREE={runner.info['tree']}",
                               f"TFLM_LIB={runner.folder / 'libtflm.a'}", f"KERNELS={runner.kernels}"],
                              capture_output=True, text=True, timeout=TIMEOUT_S)
        if make.returncode != 0:
            raise ExportError(f"The package does not build for {target.title}:\n{(make.stderr or make.stdout)[-1500:]}")
        elf = work / "build" / "model.elf"
        marks = _symbols(elf, ("RunModel", "TopClass"))
        (work / "input.bin").write_bytes(x.tobytes())
        plugin = f"{runner.plugin}," + ",".join(f"mark={a:#x}" for a in marks) + f",out={work / 'marks.txt'}"
        proc = subprocess.run(["qemu-system-arm", "-M", target.machine, "-nographic", "-monitor", "none",
                               "-semihosting-config", "enable=on,target=native", "-kernel", str(elf),
                               "-plugin", plugin], cwd=work, capture_output=True, text=True, timeout=TIMEOUT_S)
        out = proc.stdout.strip()
        if proc.returncode != 0 or not out.startswith("ok"):
            raise ExportError(f"The package built for {target.title} but did not run in QEMU: "
                              f"{out or proc.stderr.strip()[-500:]} (exit code {proc.returncode})")
        t_out = sg.tensors[sg.outputs[0]]
        got = np.frombuffer((work / "output.bin").read_bytes(), np.dtype(dtype_name(t_out)))
        counts = [int(line.split()[0]) for line in (work / "marks.txt").read_text().splitlines()
                  if line and line[0].isdigit()]
        size = _image_bytes(elf)
    host = tflm_outputs(data, x).reshape(-1)
    match = bool(np.array_equal(got, host))
    cost = counts[1] - counts[0] if len(counts) >= 2 else 0
    message = (f"Verified on {target.title} ({runner.kernels}): the package builds ({size:,} B image), allocates "
               f"at kTensorArenaSize, and its outputs {'equal' if match else 'DIFFER FROM'} the host TFLM's; "
               f"RunModel (allocate + one inference) executes {cost:,} instructions.")
    return Verification(runner.target, runner.kernels, True, True, match, cost, size, message)


def _symbols(elf: Path, names: tuple) -> list[int]:
    """Addresses of the functions whose (mangled) names contain each of `names`, in that order."""
    table = subprocess.run(["arm-none-eabi-nm", str(elf)], capture_output=True, text=True).stdout.splitlines()
    found = []
    for name in names:
        hit = next((line.split()[0] for line in table if name in line and line.split()[1] in "Tt"), None)
        if hit is None:
            raise ExportError(f"The package's image has no {name}(): was main_example.cc changed?")
        found.append(int(hit, 16))
    return found


def _image_bytes(elf: Path) -> int:
    out = subprocess.run(["arm-none-eabi-size", str(elf)], capture_output=True, text=True).stdout.splitlines()
    text, data = (int(v) for v in out[1].split()[:2])
    return text + data
