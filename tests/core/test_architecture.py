"""The boundaries the design fixes: core never imports Qt; importing core stays light."""

import ast
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

QT = ("PySide6", "PyQt5", "PyQt6", "pyqtgraph", "shiboken6", "app")


def test_core_never_imports_qt_or_app():
    offenders = []
    for path in (ROOT / "core").rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for n in names:
                if n.split(".")[0] in QT and not (path.name == "cli.py" and n == "app.main"):
                    offenders.append(f"{path.relative_to(ROOT)}: {n}")
    assert not offenders, offenders


def test_cli_and_runner_import_without_tensorflow():
    code = ("import sys, core.cli, core.runner, core.recipe, core.sequence; "
            "print('tensorflow' in sys.modules, 'tf_keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]
