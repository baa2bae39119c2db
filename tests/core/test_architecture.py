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
    code = ("import sys, cli.commands, core.runner, core.recipe, core.sequence, tinyopt.__main__; "
            "print('tensorflow' in sys.modules, 'tf_keras' in sys.modules, 'PySide6' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False", "False"]


def _cycles(graph) -> list[list[str]]:
    """The import cycles among the project's modules: strongly connected groups of more than one
    module (imports inside functions count: they run too), each as a closed chain."""
    modules = sorted(graph.modules)
    edges = {m: sorted(i for i in graph.find_modules_directly_imported_by(m) if i in graph.modules) for m in modules}
    index, low, stack, on, groups, counter = {}, {}, [], set(), [], [0]

    def visit(v):  # Tarjan's algorithm, iterative over each node's edges
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    sys.setrecursionlimit(10_000)
    for m in modules:
        if m not in index:
            visit(m)
    cycles = []
    for group in groups:
        a = group[0]
        back = next(b for b in group if b != a and graph.find_shortest_chain(importer=b, imported=a))
        cycles.append(list(graph.find_shortest_chain(importer=a, imported=back))
                      + list(graph.find_shortest_chain(importer=back, imported=a))[1:])
    return cycles


def test_no_import_cycles():
    import grimp

    cycles = _cycles(grimp.build_graph("tinyopt", "app", "core", cache_dir=None))
    assert not cycles, "import cycles (one loop of each group shown):\n" + "\n".join(" -> ".join(c) for c in cycles)
