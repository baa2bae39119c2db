"""Memory analysis and the graph step over ../shared/models and synthetic models.

Columns: operators, live-sum lower bound, TFLM head (stock, measured), our predicted head, TFLM head
after our graph step (measured), ratio after/bound. Also the time to analyse a 1,000-op graph.
Run: .venv/bin/python bench/memory.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._table import machine, markdown, write  # noqa: E402
from bench.synthetic import SYNTHETIC, long_chain_graph  # noqa: E402

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "models"


def row(name: str, data: bytes) -> list:
    from core.analysis.memory import analyze_memory
    from core.artifact import Artifact
    from core.steps.base import Context
    from core.steps.graph import GraphStep
    from core.measure.tflm_check import check_tflm

    report = analyze_memory(data)
    stock = check_tflm(data, verify=False)
    out = GraphStep().run(Artifact("tflite", "m", name, data=data), Context())[0]
    info = out.info["graph"]
    after = check_tflm(out.data, verify=False) if out.data is not data else stock
    bound = min(report.lower_bound, info.get("lower_bound_after", report.lower_bound))
    what = info.get("unchanged") or ", ".join(
        w for w, on in (("reordered", info.get("reordered")), (f"offline plan ({info.get('plan')})",
                                                               info.get("offline_plan"))) if on)
    gain = (1 - after.arena_head / stock.arena_head) * 100 if stock.arena_head else 0
    return [name, len(report.ops), f"{report.lower_bound:,}", f"{stock.arena_head:,}",
            f"{report.predicted_head:,}", "yes" if report.predicted_head == stock.arena_head else "NO",
            f"{after.arena_head:,}", f"{gain:.1f}%", f"{after.arena_head / bound:.3f}", what[:90]]


def main() -> int:
    from core.analysis.memory import analyze_graph

    rows = []
    for path in sorted(SHARED.glob("*.tflite")):
        rows.append(row(path.name, path.read_bytes()))
    for name, build in SYNTHETIC.items():
        rows.append(row(f"synthetic: {name}", build()))
    graph = long_chain_graph(1000)
    t = time.perf_counter()
    analyze_graph(graph)
    analysis_s = time.perf_counter() - t
    table = markdown(["model", "ops", "lower bound", "TFLM head (stock)", "predicted head", "prediction exact",
                      "TFLM head after graph step", "head saved", "after / bound (best order)", "what the step did"],
                     rows)
    text = (f"# Memory: predicted vs TFLM-measured arena head, and the graph step\n\nMeasured {machine()}. "
            "Heads in bytes; TFLM figures from the real interpreter's RecordingMicroAllocator.\n\n"
            f"{table}\n\nAnalysis of a synthetic 1,000-operator graph: {analysis_s:.2f} s (goal <= 2 s).\n")
    write("memory.md", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
