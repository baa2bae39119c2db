"""Graph optimization for TFLM (tflite -> tflite): operator forms, order and an offline memory plan.

0. Speed (with a device whose core is emulated): each costly operator in the equivalent form its
   kernels run fastest there, measured (core.steps.graph_speed).
1. Reorder: run the ops in the order with the smallest peak of live bytes (exact for small
   branched graphs, greedy beyond; see core.analysis.reorder).
2. Offline plan: place every planned tensor at an explicit offset (the best of TFLM's own planner
   and a few first-fit orders) and write it as OfflineMemoryAllocation metadata, which stock TFLM
   honours. Every plan is verified for overlaps before it is written.
3. Proof: outputs must be bit-identical to the input model's on TFLM and on LiteRT, and the
   TFLM-measured arena must not grow; otherwise the model is returned unchanged, with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.artifact import TFLITE
from core.measure.identical import same_outputs
from core.params import param
from core.steps.base import Context, Progress, Step


@dataclass
class GraphParams:
    reorder: bool = param(True, "run the operators in the order with the smallest peak of live memory")
    offline_plan: bool = param(True, "write a verified memory plan that TFLM honours "
                               "(OfflineMemoryAllocation)")
    time_limit_s: float = param(5.0, "time for the order and plan searches", min=0.1, max=600.0,
                                unit="s")
    speed: bool = param(True, "rewrite costly operators into the equivalent forms that run fastest on "
                        "the device's emulated core (bit-identical, instructions measured; needs a target)")
    # A faster form has more tensors and per-channel data, so TFLM's arena tail grows a little
    # (the study's CNN: +4 % for 0.81x the instructions); a larger trade is the user's to allow.
    arena_growth: float = param(10.0, "how much more arena a faster operator form may need on the target",
                                min=0.0, max=1000.0, unit="%")
    # Its filters hold the zero taps of the new form (space-to-depth: 4x the channels), so flash grows too.
    flash_growth: float = param(10.0, "how much larger a faster operator form may make the flash: the "
                                "firmware's (model + the TFLM code of its operators) on an emulated core",
                                min=0.0, max=1000.0, unit="%")


def optimize(data: bytes, p: GraphParams, log=lambda line: None) -> tuple[bytes, dict]:
    """The rewritten model (or `data` itself when nothing helps) and what was done."""
    from core.analysis.graph import build_graph
    from core.analysis.lifetimes import lifetimes, live_bytes, merge_in_place
    from core.analysis.memory import analyze_graph
    from core.analysis.offline_plan import best_offsets, read_plan, write_plan
    from core.analysis.reorder import best_order
    from core.analysis.tflite_writer import to_bytes

    graph = build_graph(data)
    before = analyze_graph(graph)
    info = {"ops": len(graph.ops), "lower_bound_before": before.lower_bound,
            "predicted_head_before": before.predicted_head}
    if len(graph.model.subgraphs) > 1:
        return data, dict(info, unchanged="models with several subgraphs are left as they are")
    if read_plan(graph.model) is not None:
        return data, dict(info, unchanged="the model already carries an offline memory plan")
    order = list(range(len(graph.ops)))
    if p.reorder and len(graph.ops) > 1:
        found = best_order(graph, time_limit_s=p.time_limit_s)
        info.update(order_exact=found.exact, order_states=found.states)
        if found.peak < before.lower_bound:
            order = found.order
            log(f"graph: new operator order lowers the live-bytes peak {before.lower_bound:,} -> "
                f"{found.peak:,} ({'exact' if found.exact else 'heuristic'} search)")
    buffers = merge_in_place(graph, lifetimes(graph, order), order)
    after = analyze_graph(graph, order)
    bound = max(live_bytes(buffers, len(graph.ops)), default=0)  # in-place RESHAPEs can beat the plain bound
    offsets, how = best_offsets(buffers, bound)
    head = max((o + b.size for b, o in zip(buffers, offsets)), default=0)
    info.update(lower_bound_after=after.lower_bound, planned_head=head, plan=how)
    use_plan = p.offline_plan and head < after.predicted_head
    if order == list(range(len(graph.ops))) and not use_plan:
        return data, dict(info, unchanged=f"TFLM's own plan ({before.predicted_head:,} B) already "
                                          f"reaches the best we found; lower bound {before.lower_bound:,} B")
    model = graph.model
    sg = model.subgraphs[0]
    sg.operators = [sg.operators[i] for i in order]
    if use_plan:
        write_plan(model, buffers, offsets)
        log(f"graph: offline plan ({how}) head {head:,} B vs TFLM's greedy {after.predicted_head:,} B")
    info.update(reordered=order != list(range(len(graph.ops))), offline_plan=use_plan)
    return to_bytes(model), info


class GraphStep(Step):
    name = "graph"
    title = "Graph optimization (operator forms, order, offline memory plan)"
    takes = TFLITE
    gives = TFLITE
    Params = GraphParams

    def run(self, artifact, ctx: Context) -> list:
        from core.measure.tflm_check import check_tflm
        from core.steps.graph_speed import speed_up

        p, data, reports, why = self.params, artifact.data, [], "switched off"
        if p.speed:
            where = ctx.firmware.target if ctx.firmware is not None else "the target"
            ctx.progress(Progress(self.name, f"measuring operator forms on {where}", 0.05))
            fitted = (artifact.info.get("channels") or {}).get("budget")  # a budget channel pruning met
            data, reports, why = speed_up(data, ctx.firmware, lambda d: optimize(d, p)[0],
                                          arena_growth=p.arena_growth / 100, flash_growth=p.flash_growth / 100,
                                          budget=fitted, log=ctx.log, cancel=ctx.cancel.check)
            if why:
                ctx.log(f"graph: operator forms not tried: {why}")
        faster = any(r.after != r.before for r in reports)
        ctx.progress(Progress(self.name, "searching operator order and memory plan", 0.4))
        out, info = optimize(data, p, ctx.log)
        info.update(speed=[r.to_dict() for r in reports], speed_skipped=why)
        if out is not artifact.data:
            ctx.progress(Progress(self.name, "checking outputs on TFLM and LiteRT", 0.5))
            problem = same_outputs(artifact.data, out, ctx.seed)
            base, new = check_tflm(artifact.data), check_tflm(out)  # verified: evaluation reuses them
            if problem is None and not new.runs:
                problem = f"TFLM cannot run the result: {new.reason}"
            # A faster form was held to the target's arena already; the host's kernels need other
            # scratch, so the host figure is reported, not enforced, then.
            if problem is None and base.runs and new.arena_total > base.arena_total and not faster:
                problem = f"the TFLM arena would grow ({base.arena_total:,} -> {new.arena_total:,} B)"
            if problem:
                info["unchanged"] = problem
                out = artifact.data
            else:
                info.update(tflm_head_before=base.arena_head, tflm_head_after=new.arena_head,
                            tflm_total_before=base.arena_total, tflm_total_after=new.arena_total)
                ctx.log(f"graph: TFLM arena head {base.arena_head:,} -> {new.arena_head:,} B "
                        "(measured), outputs bit-identical on TFLM and LiteRT")
        if "unchanged" in info:
            ctx.log(f"graph: model unchanged: {info['unchanged']}")
        ctx.progress(Progress(self.name, "done", 1.0))
        return [artifact.derive(kind=TFLITE, name="graph", step="graph", data=out, info=info)]
