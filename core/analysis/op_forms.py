"""Every kind of site the graph step's speed pass rewrites, behind one interface.

Each kind is a module with `sites(model)`, `rewrite(model, site, form)` and `span(model, site,
form)` (the operators computing the site once written in that form); its sites carry `kind`,
`op` (the first operator they touch), `form`, `forms`, `ops` and `label(model)`.
"""

from __future__ import annotations

from core.analysis import conv_forms, dw_forms, pad_fusion

KINDS = {m.Site.kind: m for m in (conv_forms, dw_forms, pad_fusion)}


def sites(model) -> list:
    return sorted((s for m in KINDS.values() for s in m.sites(model)), key=lambda s: (s.op, s.kind))


def rewrite(model, site, form: str):
    return KINDS[site.kind].rewrite(model, site, form)


def span(model, site, form: str) -> list:
    return KINDS[site.kind].span(model, site, form)
