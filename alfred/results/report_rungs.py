"""The report's rungs table of an adaptive search: per rung, the runs that reached it and what became of them.

Drawn from the status alfred.search.status.adaptive_status computed (files read once, there);
every value escaped.
"""
from __future__ import annotations

from alfred.results.report_data import SearchView
from alfred.results.report_template import fmt, h

__all__ = ["rungs_block"]


def rungs_block(search: SearchView) -> str:
    """The adaptive part of a search's section; "" for a grid or random search."""
    adaptive = search.status.adaptive
    if adaptive is None:
        return ""
    s = search.status
    spent = [f"{adaptive['experiments']} of {adaptive['max_experiments']} experiments"
             if adaptive["max_experiments"] is not None else f"{adaptive['experiments']} experiments"]
    if adaptive["max_steps"] is not None:
        spent.append(f"{adaptive['steps']} of {adaptive['max_steps']} steps")
    stop = adaptive["mode"] == "stop"
    what = ("stopped", "went on") if stop else ("paused", "promoted")
    several = len({r["bracket"] for r in adaptive["rungs"]}) > 1
    heads = (["bracket"] if several else []) + ["step", "reached", *what, f"best {adaptive['metric']}"]
    rows = []
    for r in adaptive["rungs"]:
        counts = (r["stopped"], r["continued"]) if stop else (r["paused"], r["promoted"])
        step = f"{r['step']} (final)" if r["final"] else str(r["step"])
        cells = ([str(r["bracket"])] if several else []) + [step, str(r["reached"]), *map(str, counts),
                                                             "" if r["best"] is None else fmt(r["best"])]
        rows.append("<tr>" + "".join(f'<td class="num">{h(c)}</td>' for c in cells) + "</tr>")
    table = (f'<div class="table-wrap"><table><thead><tr>{"".join(f"<th scope=col>{h(x)}</th>" for x in heads)}'
             f'</tr></thead><tbody>{"".join(rows)}</tbody></table></div>') if rows else \
        '<p class="muted small">no rung reached yet</p>'
    return (f'<h3>Rungs</h3><p class="muted small">adaptive search, {h(adaptive["mode"])} mode (eta '
            f'{h(adaptive["eta"])}, sampler {h(adaptive["sampler"])}, {h(adaptive["direction"])} '
            f'{h(adaptive["metric"])}): {h(", ".join(spent))} spent; {s.pruned} run(s) pruned, {s.paused} paused. '
            f'A run reached a rung when it recorded its value there; the summary ranks the experiments that '
            f'reached the highest rung reached.</p>{table}')
