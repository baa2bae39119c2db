"""The graph step's speed pass: each costly operator in the form the device's kernels run fastest.

For every site core.analysis.op_forms finds, each equivalent form is written, memory-planned
like the final model will be, proven bit-identical (TFLM and LiteRT on the host, and the emulated
core against the host TFLM), and run on the emulated core. The form with the fewest instructions
is kept, unless it needs a larger arena there than the form the model came with. Nothing is
assumed: a form the kernels happen to run slower is measured slower and dropped.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

NO_SITES = ("no operator with an equivalent form to try (a convolution over one input channel, a depthwise "
            "one with a channel multiplier, a PAD before a convolution)")
SAMPLES = 4  # inputs run on the emulated core per candidate: compared with the host TFLM's


@dataclass
class FormRun:
    form: str
    instructions: int  # whole model, per inference
    site_instructions: int  # the site's own operators
    arena: int  # measured on the emulated core, after memory planning
    flash: int
    exact: bool
    why: str = ""  # why it was not kept, when it was not
    stripped: int = 0  # flash once names and metadata are stripped: what a budget counts
    firmware: int = 0  # the firmware's flash, model + the TFLM code its operators link (0: not measured)


@dataclass
class SiteReport:
    op: str  # e.g. "CONV_2D #1 (1 -> 12 channels, 3x3)"
    before: str
    after: str
    macs: int
    runs: list = field(default_factory=list)

    def run_of(self, form: str) -> FormRun:
        return next(r for r in self.runs if r.form == form)

    def line(self) -> str:
        a, b = self.run_of(self.before), self.run_of(self.after)
        return (f"{self.op}: {self.before} -> {self.after}, {a.site_instructions:,} -> {b.site_instructions:,} "
                f"instructions ({self.macs / max(a.site_instructions, 1):.2f} -> "
                f"{self.macs / max(b.site_instructions, 1):.2f} MACs/instruction)")

    def to_dict(self) -> dict:
        return asdict(self)


def speed_up(data: bytes, firmware, plan, *, arena_growth: float = 0.0, flash_growth: float = 0.0, budget=None, log=lambda line: None,
             cancel=lambda: None) -> tuple[bytes, list, str]:
    """(model, per-site reports, why nothing was done or ""). `plan(bytes) -> bytes` is the memory
    pass the model gets afterwards; the returned model is unplanned (the caller plans it once).
    `arena_growth` is the fraction of the starting form's target arena a faster form may add, and
    `flash_growth` the fraction of the original firmware flash (model + TFLM code, for every site
    together; the model alone where the footprint cannot be measured).
    `budget` ({"flash", "arena"}, bytes or None) is one an earlier step fitted: no form breaks it."""
    from core.analysis import op_forms
    from core.analysis.tflite_reader import read_model
    from core.analysis.tflite_writer import to_bytes

    if firmware is None:
        return data, [], ("no device with an emulated core is chosen, so no form can be measured "
                          "(choose a target such as cortex-m4f)")
    found = op_forms.sites(read_model(data))
    if not found:
        return data, [], NO_SITES
    if read_model(data).metadata and any(m.name == b"OfflineMemoryAllocation" for m in read_model(data).metadata):
        return data, [], "the model already carries an offline memory plan"
    reports, current = [], data
    flash_allowed = int(len(plan(data)) * (1 + flash_growth))  # against the planned original, for all sites
    # A form may bring operators the model did not link (SPACE_TO_DEPTH, CONV_2D): their kernels
    # are flash too, so where the footprint can be measured the growth is the firmware's.
    firmware_allowed = int(_firmware_flash(plan(data), firmware) * (1 + flash_growth))
    for original in sorted(found, key=lambda s: -s.op):
        cancel()
        site = next((s for s in op_forms.sites(read_model(current)) if (s.kind, s.op) == (original.kind, original.op)),
                    None)
        if site is None:  # an earlier rewrite took it into its own form
            continue
        runs, models = [], {site.form: current}  # the form it has is always there to fall back on
        for form in site.forms:
            try:
                cand = current if form == site.form else to_bytes(op_forms.rewrite(read_model(current), site, form))
                planned = plan(cand)
            except Exception as exc:  # a form we cannot write for this model is a form not taken
                runs.append(FormRun(form, 0, 0, 0, 0, False, f"could not be written: {type(exc).__name__}: {exc}"))
                continue
            models[form] = cand
            runs.append(_measure(data, cand, planned, site, form, firmware))
            cancel()
        start = next(r for r in runs if r.form == site.form)
        allowed = int(start.arena * (1 + arena_growth))
        if budget and budget.get("arena"):
            allowed = min(allowed, max(start.arena, budget["arena"]))
        flash_cap = budget.get("flash") if budget else None  # counted stripped, as the budget was

        def over_budget(r, cap=flash_cap, start=start) -> bool:
            return bool(cap) and r.stripped > max(cap, start.stripped)

        def flash_ok(r) -> bool:
            if r.firmware and firmware_allowed:
                return r.firmware <= firmware_allowed
            return r.flash <= flash_allowed

        fit = [r for r in runs if r.exact and r.arena <= allowed and flash_ok(r) and not over_budget(r)]
        best = min(fit, key=lambda r: (r.instructions, r.form != site.form)) if fit else start
        for r in runs:
            if r is not best and not r.why:
                r.why = ("not bit-identical" if not r.exact else
                         f"arena {r.arena:,} B > {allowed:,} B allowed" if r.arena > allowed else
                         f"firmware flash {r.firmware:,} B > {firmware_allowed:,} B allowed (model + TFLM code)"
                         if not flash_ok(r) and r.firmware and firmware_allowed else
                         f"{r.flash:,} B > {flash_allowed:,} B allowed" if not flash_ok(r) else
                         f"{r.stripped:,} B stripped > the {flash_cap:,} B budget" if over_budget(r)
                         else f"{r.instructions:,} instructions, not fewer")
        current = models[best.form]
        report = SiteReport(original.label(read_model(data)), site.form, best.form, _site_macs(data, original),
                            runs)
        reports.append(report)
        log(f"graph: {report.line()}")
    return current, reports, ""


def _measure(original: bytes, cand: bytes, planned: bytes, site, form: str, firmware) -> FormRun:
    from core.analysis.tflite_reader import read_model
    from core.errors import TinyOptError
    from core.measure.identical import same_outputs
    from core.measure.tflm_check import tflm_outputs
    from core.target.measure import run, sample_inputs

    problem = same_outputs(original, planned) if cand is not original else None
    x = sample_inputs(planned, SAMPLES)
    try:
        result = run(planned, x, firmware)
    except TinyOptError as exc:
        return FormRun(form, 0, 0, 0, len(planned), False, f"does not run on the target: {exc}")
    host = tflm_outputs(planned, x)
    exact = problem is None and np.array_equal(result.outputs[0].reshape(host.shape), host)
    ops = _site_ops(read_model(cand), read_model(planned), site, form)
    site_instr = sum(c.instructions for c in result.ops if c.index in ops)
    why = "" if exact else (problem or "the emulated core's outputs differ from the host TFLM's")
    from core.steps.strip import strip

    return FormRun(form, result.instructions, site_instr, result.arena_used, len(planned), exact, why,
                   len(strip(planned)), _firmware_flash(planned, firmware, result.arena_used) if exact else 0)


def _firmware_flash(data: bytes, firmware, arena: int | None = None) -> int:
    """Model + TFLM code in flash (core.target.footprint), 0 where it cannot be measured."""
    from core.errors import TinyOptError
    from core.target.footprint import measure

    try:
        return measure(data, firmware, arena).flash_total
    except TinyOptError:
        return 0


def _site_ops(cand_model, planned_model, site, form: str) -> set:
    """Execution indices (in the planned model) of the operators that compute the site."""
    from core.analysis import op_forms

    ops = cand_model.subgraphs[0].operators
    outs = {t for i in op_forms.span(cand_model, site, form) for t in ops[i].outputs}
    return {i for i, op in enumerate(planned_model.subgraphs[0].operators) if set(op.outputs) & outs}


def _site_macs(data: bytes, site) -> int:
    from core.analysis.graph import build_graph
    from core.analysis.macs import op_macs

    graph = build_graph(data)
    return int(sum(op_macs(graph.ops[i], graph) or 0 for i in site.ops))
