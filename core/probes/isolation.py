"""Child processes and temporary folders that never outlive the work they serve.

- Every child (the TFLM and LiteRT probes, the window's engine) asks the kernel to kill it when its
  parent dies (Linux PR_SET_PDEATHSIG), so a killed CLI or window leaves no process behind.
- Probe children cap their address space: a crafted file that declares a 16-million-row input
  fails inside the child instead of driving the machine into swap or the OOM killer.
- Temporary folders carry the owning process id (``tinyopt-<what>-<pid>-...``); `clean_stale`,
  called when the CLI or the window starts, removes those whose owner is gone.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

PARENT_ENV = "TINYOPT_PARENT_PID"
PROBE_MEMORY = 4 << 30  # address space of a probe child; models for MCUs need a tiny fraction


def die_with_parent(memory_limit: int | None = None) -> None:
    """Call first thing in a child: exit if the parent is already gone, be killed when it goes."""
    expected = os.environ.get(PARENT_ENV)
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if expected and expected.isdigit() and os.getppid() != int(expected):
        os._exit(1)  # the parent died before prctl took effect
    if memory_limit:
        try:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
        except (ImportError, ValueError, OSError):
            pass


def child_env(**extra) -> dict:
    """Environment for a child started with subprocess: our package importable, our pid known."""
    root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""),
               **{PARENT_ENV: str(os.getpid())})
    env.update(extra)
    return env


def run_probe(module: str, flag: str, args: list[str], *, timeout: float, cwd: str | None = None):
    """Run ``python -m module ARGS`` (a frozen app: ``app FLAG ARGS``) and capture its output."""
    entry = [flag] if getattr(sys, "frozen", False) else ["-m", module]  # tinyopt/__main__.py PROBES
    return subprocess.run([sys.executable, *entry, *args], capture_output=True, timeout=timeout,
                          env=child_env(), cwd=cwd)


def temp_dir(what: str) -> tempfile.TemporaryDirectory:
    """A temporary folder named after its owner, so a later start can clean it if we crash."""
    return tempfile.TemporaryDirectory(prefix=f"tinyopt-{what}-{os.getpid()}-")


def clean_stale(root: str | None = None) -> list[str]:
    """Remove ``tinyopt-<what>-<pid>-*`` folders whose process is gone; return what was removed."""
    removed = []
    base = Path(root or tempfile.gettempdir())
    try:
        entries = list(base.glob("tinyopt-*-*-*"))
    except OSError:
        return removed
    for path in entries:
        parts = path.name.split("-")
        pid = parts[2] if len(parts) > 3 else ""
        if not pid.isdigit() or int(pid) == os.getpid() or _alive(int(pid)) or not path.is_dir():
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(str(path))
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def describe_crash(code: int) -> str:
    """'signal SIGSEGV' or 'exit code 3' for a child's return code."""
    if code < 0 and -code in signal.Signals._value2member_map_:
        return f"signal {signal.Signals(-code).name}"
    return f"exit code {code}"
