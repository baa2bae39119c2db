"""The whole firmware footprint of a model on a Cortex-M: flash is the model plus the TFLM code it
links, RAM is the arena plus TFLM's own data and the stack an inference needs.

Measured, not estimated: the model is linked with exactly its operators (op_resolver.h, as an
export writes it) against the target's TFLM library, and the link map (core.target.link_map)
splits the image by where each byte came from: model data, TFLM framework, kernels (per
operator, and the kernel code several share), the C runtime pieces TFLM calls, and the harness
(start-up and main: a user's firmware has its own, so it is reported apart and left out of the
totals). The image then runs once on QEMU: it paints the free stack and reports how deep
RunModel() (interpreter, AllocateTensors, one Invoke) went. The harness object is compiled once
per target, kernel set and operator set; a model costs an assemble, a link and one emulated run.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path

from core.errors import TargetError
from core.probes.isolation import temp_dir
from core.target import link_map
from core.target.build import C_FLAGS, CMSIS_DEFINES, CXX_FLAGS, DEFINES, FIRMWARE, Firmware
from core.target.targets import get
from core.target.tree import locate

HARNESS = (FIRMWARE / "footprint_main.cc", FIRMWARE / "footprint_start.c")
FLASH_SECTIONS = (".vectors", ".text", ".ARM.extab", ".ARM.exidx", ".preinit_array", ".init_array",
                  ".fini_array", ".data")
RAM_SECTIONS = (".data", ".bss")
TIMEOUT_S = 300
GROW_ATTEMPTS = 6  # an eighth more each: up to about twice the first size


@dataclass
class Footprint:
    """Bytes of one model's firmware on one target and kernel set. Flash and RAM totals leave the
    harness out; `image` is the whole linked image (harness included), as arm-none-eabi-size says."""

    target: str
    kernels: str
    model: int  # the model's bytes in flash
    framework: int  # TFLM framework code and constants (interpreter, allocator, flatbuffer reading)
    kernel_code: dict  # operator -> bytes of its kernel; "shared" for kernel code several operators use
    runtime_library: int  # C/C++ runtime functions TFLM calls (memcpy, vsnprintf for its logs, libm)
    harness: int  # start-up and main of the measuring image: not part of a user's totals
    padding: int  # alignment fill the linker inserted
    image: int  # text + data of the linked image
    arena: int  # the tensor arena linked (TFLM used `arena_used` of it)
    arena_used: int
    tflm_static: int  # .data/.bss of TFLM's framework and kernels
    runtime_objects: int  # the MicroInterpreter and the op resolver themselves
    library_static: int  # .data/.bss of the C runtime pieces TFLM calls
    stack: int  # deepest stack RunModel() reached below its caller, measured on the emulated core
    stack_room: int  # the stack the measuring image had
    ops: list = field(default_factory=list)
    note: str = ""  # e.g. that the figures come from another core than the device's

    @property
    def kernels_total(self) -> int:
        return sum(self.kernel_code.values())

    @property
    def code(self) -> int:
        """The TFLM code a firmware links for this model: framework, kernels, runtime library."""
        return self.framework + self.kernels_total + self.runtime_library

    @property
    def flash_total(self) -> int:
        return self.model + self.code

    @property
    def static_ram(self) -> int:
        return self.tflm_static + self.runtime_objects + self.library_static

    @property
    def ram_total(self) -> int:
        return self.arena + self.static_ram + self.stack

    def split_text(self) -> str:
        """The split, for tooltips and reports."""
        per_op = ", ".join(f"{op} {n:,}" for op, n in sorted(self.kernel_code.items(), key=lambda kv: -kv[1]))
        lines = [f"Firmware flash {self.flash_total:,} B = model {self.model:,} + TFLM framework {self.framework:,}"
                 f" + kernels {self.kernels_total:,} ({per_op}) + C runtime {self.runtime_library:,}.",
                 f"Firmware RAM {self.ram_total:,} B = arena {self.arena:,} + TFLM static {self.tflm_static:,}"
                 f" + interpreter and resolver {self.runtime_objects:,} + C runtime static {self.library_static:,}"
                 f" + stack {self.stack:,} (measured).",
                 f"Measured on the emulated {self.target} with {self.kernels} kernels: the model linked with exactly "
                 f"its operators; the measuring harness ({self.harness:,} B) is left out."]
        if self.note:
            lines.append(self.note)
        return "\n".join(lines)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(flash_total=self.flash_total, ram_total=self.ram_total, code=self.code,
                 kernels_total=self.kernels_total, static_ram=self.static_ram)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Footprint":
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


def measure(data: bytes, runner: Firmware, arena: int | None = None, *, exact: bool = False,
            note: str = "") -> Footprint:
    """The footprint of `data` on `runner`'s target and kernel set, linked with an arena of `arena`
    bytes (None: learned by a first run with a large one). AllocateTensors can need a little more
    than the arena_used_bytes() it reports (the planner's scratch while it plans), so a size that
    fails is grown, by an eighth each time, and `arena` says what was linked; with `exact` the
    given size must do. Raises TargetError when it does not link or run; cached by model, arena
    and build."""
    from core.analysis.tflite_reader import op_names, read_model

    ops = sorted(set(op_names(read_model(data))))
    key = hashlib.sha256(data + f"|{arena}|{exact}|{runner.info.get('tflite_micro_commit')}".encode()
                         + _sources_digest().encode()).hexdigest()[:16]
    cached = runner.folder / "footprint" / "results" / f"{key}.json"
    if cached.is_file():
        result = Footprint.from_dict(json.loads(cached.read_text()))
        result.note = note
        return result
    harness = _harness(runner, ops)
    library = _library(runner)
    if arena is None:
        arena = _link_and_run(data, runner, harness, library, 8 << 20, ops, per_op=False)["arena_used"] + 16
    size = -(-int(arena) // 16) * 16
    for attempt in range(GROW_ATTEMPTS):
        try:
            result = _link_and_run(data, runner, harness, library, size, ops)["footprint"]
            break
        except _TooSmall:
            if exact or attempt == GROW_ATTEMPTS - 1:
                raise TargetError(f"The footprint image for {get(runner.target).title} ({runner.kernels}) did not "
                                  f"run: AllocateTensors failed with a {size:,}-byte arena.") from None
            size = -(-(size + max(64, size // 8)) // 16) * 16
    cached.parent.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(f".{os.getpid()}.tmp")  # whole files only: processes measure side by side
    partial.write_text(json.dumps(result.to_dict(), indent=1) + "\n")
    partial.replace(cached)
    result.note = note
    return result


class _TooSmall(Exception):
    """AllocateTensors failed at the linked arena size."""


def _sources_digest() -> str:
    sources = (*HARNESS, Path(__file__), Path(link_map.__file__))  # a change to any re-measures
    return hashlib.sha256(b"".join(p.read_bytes() for p in sources)).hexdigest()[:12]


def _flags(runner: Firmware) -> list:
    """The harness is compiled with exactly the defines its TFLM was (they change TFLM's structures)."""
    tree = locate(runner.info["tree"])
    defines = runner.info.get("defines") or [*DEFINES, *(CMSIS_DEFINES if runner.kernels == "cmsis-nn" else ())]
    return [*get(runner.target).cpu_flags, "-O2", *defines, *tree.include_flags()]


def _harness(runner: Firmware, ops: list) -> Path:
    """footprint_main.o and footprint_start.o for this operator set, compiled once."""
    from core.export.op_resolver import op_resolver_header

    digest = hashlib.sha256(("\n".join(ops) + _sources_digest()).encode()).hexdigest()[:12]
    folder = runner.folder / "footprint" / f"harness-{digest}"
    if (folder / "footprint_main.o").is_file():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    with _locked(folder):
        if (folder / "footprint_main.o").is_file():
            return folder
        (folder / "op_resolver.h").write_text(op_resolver_header(ops))
        flags = _flags(runner)
        _run(["arm-none-eabi-gcc", *flags, *C_FLAGS, "-c", str(HARNESS[1]), "-o", str(folder / "footprint_start.o")],
             "compile the footprint start-up")
        _run(["arm-none-eabi-g++", *flags, *CXX_FLAGS, f"-I{folder}", "-c", str(HARNESS[0]),
              "-o", str(folder / "footprint_main.o.tmp")], "compile the footprint harness")
        (folder / "footprint_main.o.tmp").replace(folder / "footprint_main.o")
    return folder


def _library(runner: Firmware) -> Path:
    """The runner's TFLM objects as an archive whose members keep their source paths ('/' as '~'),
    so the map says which file every byte came from (libtflm.a's members are bare file names)."""
    lib = runner.folder / "footprint" / "libtflm_paths.a"
    if lib.is_file():
        return lib
    tree = locate(runner.info["tree"])
    base = runner.folder.parent / "obj"
    objects = [(src, base / "common" / src.relative_to(tree.root).with_suffix(".o")) for src in tree.common_sources()]
    objects += [(src, base / runner.kernels / src.relative_to(tree.root).with_suffix(".o"))
                for src in tree.kernel_sources(runner.kernels)]
    lib.parent.mkdir(parents=True, exist_ok=True)
    with _locked(lib.parent), temp_dir("footprint-lib") as tmp:
        if lib.is_file():
            return lib
        names = []
        for src, obj in objects:
            if not obj.is_file():
                raise TargetError(f"The {runner.target} build lacks {obj.name}; rebuild the target (tinyopt target).")
            name = Path(tmp) / (src.relative_to(tree.root).with_suffix(".o").as_posix().replace("/", "~"))
            name.symlink_to(obj)
            names.append(str(name))
        Path(str(lib) + ".tmp").unlink(missing_ok=True)  # ar would add to what a killed run left
        _run(["arm-none-eabi-ar", "rcs", str(lib) + ".tmp", *names], "archive TFLM for the footprint")
        Path(str(lib) + ".tmp").replace(lib)
    return lib


def _link_and_run(data: bytes, runner: Firmware, harness: Path, library: Path, arena: int, ops: list,
                  per_op: bool = True) -> dict:
    target = get(runner.target)
    with temp_dir("footprint") as tmp:
        tmp = Path(tmp)
        (tmp / "model.tflite").write_bytes(data)
        (tmp / "model.S").write_text(_model_asm(arena))
        _run(["arm-none-eabi-gcc", *target.cpu_flags, "-c", str(tmp / "model.S"), "-o", str(tmp / "model.o")],
             "assemble the model", cwd=tmp)
        elf, parsed = _link(runner, harness, library, tmp, "footprint")
        try:
            proc = subprocess.run(["qemu-system-arm", "-M", target.machine, "-nographic", "-monitor", "none",
                                   "-semihosting-config", "enable=on,target=native", "-kernel", str(elf)],
                                  capture_output=True, text=True, timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise TargetError(f"The footprint image did not finish on {target.title} within {TIMEOUT_S} s.") from None
        output = proc.stdout + proc.stderr  # QEMU writes semihosting's SYS_WRITE0 to stderr
        report = dict(line.split(" ", 1) for line in output.splitlines() if " " in line)
        status = int(report.get("status", "-1").strip() or -1)
        if status == 2:
            raise _TooSmall()
        if status != 0 or "stack" not in report:
            why = {1: "an operator did not register", 2: f"AllocateTensors failed with a {arena:,}-byte arena",
                   3: "Invoke failed"}.get(status, output.strip()[-300:] or "no output")
            raise TargetError(f"The footprint image for {target.title} ({runner.kernels}) did not run: {why}.")
        measured = {k: int(v) for k, v in report.items() if v.strip().isdigit()}
        if not per_op:
            return {"arena_used": measured["arena_used"]}
        fp = split(parsed)
        fp["kernel_code"] = _per_operator(runner, harness, library, tmp, ops, fp["kernel_code"]["shared"])
        fp["image"] = _image_bytes(elf)
    fp.update(target=runner.target, kernels=runner.kernels, arena=arena,
              arena_used=measured["arena_used"], stack=measured["stack"], stack_room=measured["stack_room"], ops=ops)
    return {"arena_used": measured["arena_used"], "footprint": Footprint(**fp)}


def _link(runner: Firmware, harness: Path, library: Path, tmp: Path, name: str, flags: tuple = ()):
    """Link the harness, tmp/model.o and TFLM into tmp/<name>.elf; (elf, parsed map)."""
    elf, map_path = tmp / f"{name}.elf", tmp / f"{name}.map"
    _run(["arm-none-eabi-g++", *get(runner.target).cpu_flags, "--specs=nosys.specs", "-nostartfiles", "-T",
          str(runner.folder / "link.ld"), "-Wl,--gc-sections", f"-Wl,-Map={map_path}", "-Wl,--cref", *flags,
          str(harness / "footprint_start.o"), str(harness / "footprint_main.o"), str(tmp / "model.o"),
          str(library), "-lm", "-o", str(elf)], f"link the model with TFLM for {get(runner.target).title}")
    return elf, link_map.parse(map_path.read_text())


def _image_bytes(elf: Path) -> int:
    """text + data of the image, as arm-none-eabi-size counts them (the flash a firmware takes)."""
    out = subprocess.run(["arm-none-eabi-size", str(elf)], capture_output=True, text=True).stdout.splitlines()
    text, data = (int(v) for v in out[1].split()[:2])
    return text + data


def _per_operator(runner: Firmware, harness: Path, library: Path, tmp: Path, ops: list, kernels: int) -> dict:
    """Kernel bytes only each operator needs: the image's kernel code less that of the same image
    linked without the operator (its Register_<OP>() pointed elsewhere, so the linker leaves its
    kernel out). What no single operator accounts for is 'shared'. The kernels an image links
    depend on its operators alone, so the split is kept beside the operator set's harness."""
    saved = harness / "kernels.json"
    if saved.is_file():
        known = json.loads(saved.read_text())
        if known.get("kernels") == kernels:
            return known["code"]
    registers = _register_symbols(harness / "footprint_main.o")
    own = {}
    for op in ops:
        symbols = registers.get(_register_name(op), [])
        if not symbols:
            continue
        flags = tuple(f"-Wl,--defsym={sym}=Reset_Handler" for sym in symbols)  # linked, never run
        _, parsed = _link(runner, harness, library, tmp, "without", flags)
        own[op] = kernels - split(parsed)["kernel_code"]["shared"]
    code = {op: n for op, n in own.items() if n > 0}
    code["shared"] = kernels - sum(code.values())
    partial = saved.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(json.dumps({"kernels": kernels, "code": code}) + "\n")
    partial.replace(saved)
    return code


def _register_name(op: str) -> str:
    return "DECODE" if op == "CUSTOM:TFLM_DECODE" else op.split(":")[-1]


def _register_symbols(obj: Path) -> dict:
    """OP -> the mangled tflite::Register_<OP>() symbols the harness calls."""
    import re

    table = _run(["arm-none-eabi-nm", "-u", str(obj)], "read the harness's symbols")
    found: dict = {}
    for line in table.splitlines():
        m = re.fullmatch(r"\s*U (_ZN6tflite\d+Register_(\w+?)Ev)", line)
        if m:
            found.setdefault(m.group(2), []).append(m.group(1))
    return found


def _model_asm(arena: int) -> str:
    return f"""/* The model (in flash) and its arena (in RAM), in sections the footprint can name. */
  .section .rodata.tinyopt_model,"a",%progbits
  .balign 16
  .global tinyopt_model
tinyopt_model:
  .incbin "model.tflite"
  .section .rodata.tinyopt_arena_size,"a",%progbits
  .balign 4
  .global tinyopt_arena_size
tinyopt_arena_size:
  .word {arena}
  .section .bss.tinyopt_arena,"aw",%nobits
  .balign 16
  .global tinyopt_arena
tinyopt_arena:
  .space {arena}
"""


def kind_of(file: str) -> str:
    """What an input file of the link is: model, harness, framework, kernel or runtime (toolchain)."""
    name = file.rsplit("/", 1)[-1]
    if name == "model.o":
        return "model"
    if name.startswith("footprint_"):
        return "harness"
    if "libtflm_paths.a(" in file:
        member = file.rsplit("(", 1)[1].rstrip(")").replace("~", "/")
        return "kernel" if "/micro/kernels/" in f"/{member}" or member.startswith("third_party/cmsis_nn") \
            else "framework"
    return "runtime" if file else "padding"


def split(parsed) -> dict:
    """Flash and RAM bytes by origin, kernel code in one sum ('shared'; _per_operator splits it)."""
    kinds = {f: kind_of(f) for f in {p.file for p in parsed.pieces} | set(parsed.refs)}
    for_tflm = _reached(parsed, [f for f, k in kinds.items() if k in ("framework", "kernel")], "runtime", kinds)
    flash = {"model": 0, "framework": 0, "kernel": 0, "runtime_library": 0, "harness": 0, "padding": 0}
    for p in parsed.in_output(*FLASH_SECTIONS):
        kind = kinds.get(p.file, "padding") if p.section != "*fill*" else "padding"
        if p.section == ".rodata.tinyopt_arena_size":
            kind = "harness"
        elif kind == "runtime" and p.file not in for_tflm:
            kind = "harness"
        flash["runtime_library" if kind == "runtime" else kind] += p.size
    ram = {"tflm_static": 0, "runtime_objects": 0, "library_static": 0}
    for p in parsed.in_output(*RAM_SECTIONS):
        kind = kinds.get(p.file, "padding")
        if p.section == ".bss.tinyopt_runtime":
            ram["runtime_objects"] += p.size
        elif kind in ("framework", "kernel"):
            ram["tflm_static"] += p.size
        elif kind == "runtime" and p.file in for_tflm:
            ram["library_static"] += p.size
    kernel_code = {"shared": flash.pop("kernel")}
    return {**flash, "kernel_code": kernel_code, **ram}


def _reached(parsed, roots: list, kind: str, kinds: dict) -> set:
    """Files of `kind` that `roots` reference, directly or through other files of that kind."""
    seen, todo = set(), list(roots)
    while todo:
        for dep in parsed.refs.get(todo.pop(), ()):
            if kinds.get(dep) == kind and dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen


class _locked:
    def __init__(self, folder: Path):
        self.path = Path(folder) / ".lock"

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = open(self.path, "w")
        fcntl.flock(self.handle, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        self.handle.close()


def _run(cmd: list, what: str, cwd=None) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd)
    if proc.returncode != 0:
        raise TargetError(f"Could not {what}: {(proc.stderr or proc.stdout)[-1500:]}")
    return proc.stdout

