"""A self-contained report.html: metrics beside the original's, per-layer memory table and chart."""

from __future__ import annotations

import html

BAR_W, BAR_GAP, CHART_H = 18, 6, 160


def svg_chart(ops) -> str:
    """Per-layer flash and RAM as grouped bars (inline SVG: no image library needed)."""
    if not ops:
        return ""
    top = max(max(o["flash_bytes"], o["ram_bytes"]) for o in ops) or 1
    width = len(ops) * (2 * BAR_W + BAR_GAP) + 60
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{CHART_H + 70}" '
             'font-family="sans-serif" font-size="10">']
    for i, o in enumerate(ops):
        x = 50 + i * (2 * BAR_W + BAR_GAP)
        for j, (key, color) in enumerate((("flash_bytes", "#4e79a7"), ("ram_bytes", "#f28e2b"))):
            h = CHART_H * o[key] / top
            parts.append(f'<rect x="{x + j * BAR_W}" y="{CHART_H - h + 10:.1f}" width="{BAR_W - 2}" '
                         f'height="{h:.1f}" fill="{color}"><title>{html.escape(o["op_type"])} #{o["index"]}: '
                         f'{key.split("_")[0]} {o[key]:,} B</title></rect>')
        parts.append(f'<text x="{x}" y="{CHART_H + 24}" transform="rotate(45 {x} {CHART_H + 24})">'
                     f'{i} {html.escape(o["op_type"][:14])}</text>')
    parts.append(f'<text x="0" y="12">{top:,} B</text><text x="0" y="{CHART_H + 10}">0</text>')
    parts.append(f'<rect x="50" y="{CHART_H + 55}" width="10" height="10" fill="#4e79a7"/>'
                 f'<text x="64" y="{CHART_H + 64}">flash (weights)</text>'
                 f'<rect x="160" y="{CHART_H + 55}" width="10" height="10" fill="#f28e2b"/>'
                 f'<text x="174" y="{CHART_H + 64}">RAM (live activations)</text></svg>')
    return "".join(parts)


def _target_section(t: dict | None, e) -> str:
    """The variant on its emulated Cortex-M: exact instructions per inference and per operator."""
    if not t:
        return ""
    est = (f"; about {t['cycles_estimate']:,} cycles ({e(t.get('estimate_model', ''))})"
           if t.get("cycles_estimate") else f"; {e(t.get('estimate_model', ''))}")
    ops = "".join(f"<tr><td>{o['index']}</td><td>{e(o['op'])}</td><td>{o['instructions']:,}</td>"
                  f"<td>{'-' if not o.get('macs') else format(o['macs'], ',')}</td></tr>" for o in t.get("ops", []))
    same = {True: "bit-identical to the host TFLM's", False: e(t.get("host_difference", "")),
            None: "not compared"}[t.get("matches_host")]
    return (f"<h2>On {e(t['target'])} ({e(t['kernels'])} kernels, QEMU)</h2><p>{t['instructions']:,} instructions "
            f"per inference (exact){est}. Arena used there: {t['arena_used']:,} B. Outputs: {same}.</p>"
            f"<table><tr><th>#</th><th>operator</th><th>instructions</th><th>MACs</th></tr>{ops}</table>")


def _footprint_section(fp: dict | None, e) -> str:
    """The whole firmware: flash (model + TFLM code) and RAM (arena + runtime + stack), split."""
    if not fp:
        return ""
    ops = "".join(f"<tr><td>kernel: {e(op)}</td><td>{n:,}</td></tr>"
                  for op, n in sorted(fp["kernel_code"].items(), key=lambda kv: -kv[1]))
    flash = [("model data", fp["model"]), ("TFLM framework", fp["framework"])]
    ram = [("arena (kTensorArenaSize)", fp["arena"]), ("TFLM static data", fp["tflm_static"]),
           ("interpreter and op resolver", fp["runtime_objects"]), ("C runtime static data", fp["library_static"]),
           ("stack (deepest, measured)", fp["stack"])]
    rows = lambda items: "".join(f"<tr><td>{e(k)}</td><td>{v:,}</td></tr>" for k, v in items)  # noqa: E731
    return (f"<h2>Firmware footprint on {e(fp['target'])} ({e(fp['kernels'])} kernels)</h2>"
            f"<p>Flash <b>{fp['flash_total']:,} B</b>, RAM <b>{fp['ram_total']:,} B</b>: the model linked with "
            "exactly its operators against TFLM, split by the link map; the stack measured on the emulated core. "
            f"The measuring start-up and main ({fp['harness']:,} B) are left out: your firmware has its own."
            + (f" {e(fp['note'])}" if fp.get("note") else "") + "</p>"
            f"<table><tr><th>flash</th><th>bytes</th></tr>{rows(flash)}{ops}"
            f"<tr><td>C runtime (newlib, libgcc)</td><td>{fp['runtime_library']:,}</td></tr>"
            f"<tr><th>total</th><th>{fp['flash_total']:,}</th></tr></table><br>"
            f"<table><tr><th>RAM</th><th>bytes</th></tr>{rows(ram)}<tr><th>total</th><th>{fp['ram_total']:,}</th></tr>"
            "</table>")


def render(report: dict) -> str:
    e = html.escape
    rows = []
    for label, m in (("original", report.get("original")), ("this variant", report["variant"])):
        if not m:
            continue
        t = m.get("tflm") or {}
        acc = "-" if m.get("accuracy") is None else f"{m['accuracy']:.4f}"
        rows.append(f"<tr><td>{label}</td><td>{e(m['name'])}</td><td>{m['size_bytes']:,}</td>"
                    f"<td>{m['gzip_bytes']:,}</td><td>{acc}</td>"
                    f"<td>{'yes' if t.get('runs') else 'no'}</td><td>{t.get('arena_total') or '-'}</td></tr>")
    mem = report.get("memory") or {}
    op_rows = "".join(
        f"<tr><td>{o['index']}</td><td>{e(o['op_type'])}</td><td>{'x'.join(map(str, o['output_shape']))}</td>"
        f"<td>{'?' if o['macs'] is None else format(o['macs'], ',')}</td><td>{o['flash_bytes']:,}</td>"
        f"<td>{o['ram_bytes']:,}</td></tr>" for o in mem.get("ops", []))
    steps = "".join(f"<li>{e(s)}</li>" for s in report.get("history", [])) or "<li>none</li>"
    on_target = _target_section(report["variant"].get("target"), e)
    versions = "".join(f"<li>{e(k)} {e(str(v))}</li>" for k, v in sorted(report.get("tool", {}).items()))
    s = report["settings"]
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>TinyOpt package: {e(report['package'])}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:70em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}td:nth-child(2),th{{text-align:left}}</style></head>
<body><h1>{e(report['package'])}</h1>
<p>Arena for TFLM: <b>{s['arena_size']:,} bytes</b> ({s['arena_measured']:,} measured on
{e(s.get('arena_measured_on') or 'the host TFLM')} + {s['arena_margin']:,} margin).
Operators: {e(', '.join(report['ops']))}.</p>
<h2>Metrics</h2><table><tr><th></th><th>variant</th><th>bytes</th><th>gzip</th><th>accuracy</th><th>runs on TFLM</th><th>TFLM arena</th></tr>
{''.join(rows)}</table>
{_footprint_section(s.get('footprint'), e)}{on_target}<h2>Per-layer memory</h2>{svg_chart(mem.get('ops', []))}
<table><tr><th>#</th><th>op</th><th>output</th><th>MACs</th><th>flash B</th><th>RAM live B</th></tr>{op_rows}</table>
<p>Peak {mem.get('peak_bytes', 0):,} B; lower bound {mem.get('lower_bound', 0):,} B; TFLM head (predicted) {mem.get('predicted_head', 0):,} B.</p>
<h2>Sequence applied</h2><ol>{steps}</ol>
<h2>Versions</h2><ul>{versions}</ul></body></html>
"""
