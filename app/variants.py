"""The variants the window shows, original first: one list (Qt-free) that the results table holds
and the comparison views read, and `CompareViews`, which shows the selected variant beside the
original in each of them (memory, classes, data, target, graph)."""

from __future__ import annotations


class Variants:
    """app.jobs.VariantPayload of the run (or the search trials the user picked), original first."""

    def __init__(self):
        self.payloads = []

    def __len__(self) -> int:
        return len(self.payloads)

    def __getitem__(self, index: int):
        return self.payloads[index]

    def __iter__(self):
        return iter(self.payloads)

    def clear(self) -> None:
        self.payloads = []

    def add(self, payload) -> None:
        self.payloads.append(payload)

    def names(self) -> list[str]:
        return [p.name for p in self.payloads]

    def keep(self, wanted) -> bool:
        """Keep only the payloads `wanted(p)` accepts; True when some were dropped."""
        kept = [p for p in self.payloads if wanted(p)]
        dropped = len(kept) != len(self.payloads)
        self.payloads = kept
        return dropped

    def target_baseline(self, selected):
        """The baseline on the target: the original when it ran there (a .tflite), else the first
        variant that did (a Keras original runs on TFLM only as one of its conversions); never the
        selected variant itself."""
        baseline = next((p for p in self.payloads if p.metrics.target is not None), None)
        return baseline if baseline is not selected else None


class CompareViews:
    """The views that compare the selected variant with the original."""

    def __init__(self, memory, confusion, preview, target, graph):
        self.memory, self.confusion, self.preview, self.target, self.graph = memory, confusion, preview, target, graph

    def show(self, variants: Variants, index: int, loaded, labels: list) -> None:
        if not 0 <= index < len(variants):
            return
        payload, first = variants[index], variants[0]
        original = first.memory if first.memory else (loaded.memory if loaded else None)
        self.memory.setReports(original, payload.memory if index else None, ("original", payload.name))
        self.confusion.setMetrics(first.metrics, payload.metrics if index else None, labels,
                                  ("original", payload.name))
        self.preview.setPredictions(first.preview or [], (payload.preview or []) if index else [],
                                    ("original", payload.name))
        self.target.setPayloads(variants.target_baseline(payload), payload)
        if payload.is_tflite and index:
            self.graph.showVariant(payload.artifact.data, f"{payload.name}.tflite", f"variant: {payload.name}")
