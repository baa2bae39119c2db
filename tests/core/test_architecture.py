"""The layering the design fixes, checked by import-linter's contracts in pyproject.toml: the
`tinyopt` entry above the window, the window above the engine; core never imports Qt or the
window; the window never imports TensorFlow itself. Importing core stays light."""

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def _lint_imports():
    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    return subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_layering_contracts_are_kept():
    proc = _lint_imports()
    assert proc.returncode == 0 and "0 broken" in proc.stdout, proc.stdout[-3000:]


def test_a_forbidden_import_breaks_a_contract(tmp_path):
    """The contracts can fail: a core module that imports the window is reported, by line."""
    probe = ROOT / "core" / "_layering_probe.py"
    probe.write_text("import app.devices  # deliberately forbidden\n")
    try:
        proc = _lint_imports()
    finally:
        probe.unlink()
    assert proc.returncode != 0 and "core._layering_probe -> app.devices (l.1)" in proc.stdout


def test_cli_and_runner_import_without_tensorflow():
    code = ("import sys, core.cli, core.runner, core.recipe, core.sequence, tinyopt.__main__; "
            "print('tensorflow' in sys.modules, 'tf_keras' in sys.modules, 'PySide6' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False", "False"]
