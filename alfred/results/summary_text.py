"""What a summary says: its summary.json dict and summary.txt, from computed scores.

For a search: the best experiment, how sure that is (intervals that overlap the best one's,
touching ones included; scores coarser than the best's lead; experiments with one seed or
none scored), P(best) of the top experiments and what to do next. For a retrain
(RETRAIN_BEST, one experiment): the search's estimate of the retrained experiment beside the
retrain's, ``search exp15 0.856 [..] (3 seeds) → retrain 0.849 [..] (5 seeds)``, since the
search's best is partly its luckiest (the winner's curse) and nothing is ranked.
"""
from __future__ import annotations

import json
import time

import numpy as np

from alfred.protocol.layout import experiment_dir_name
from alfred.results.labels import fmt
from alfred.results.scoring import SearchScores, band_name

__all__ = ["P_BEST_MEANING", "summary_dict", "summary_headline", "summary_notes", "summary_text", "fmt"]

P_BEST_TOP = 5  # experiments listed by P(best)
P_BEST_CONTENDER = 0.01  # P(best) from which an experiment is worth more seeds
P_BEST_MEANING = ("P(best) = share of the bootstrap resamples of the seeds (each experiment resampled on its "
                  "own) in which an experiment has the best mean: how stable first place is under seed-to-seed "
                  "noise. It is not the probability that it is truly the best configuration: it takes the "
                  "observed seeds as the whole truth and does not correct for the luck of the best of many.")


def _share(p: float | None) -> str:
    return "undefined" if p is None or not np.isfinite(p) else f"{p:.3f}"


def _names(experiments: list[int], k: int = 10) -> str:
    more = f" and {len(experiments) - k} more" if len(experiments) > k else ""
    return ", ".join(experiment_dir_name(e) for e in experiments[:k]) + more


def _interval_text(lower: float, upper: float, n_seeds: int, all_equal: bool) -> str:
    """``[lower, upper]``, or what stands for it: one seed, or seeds that all scored the same."""
    if n_seeds < 2:
        return "(cannot tell: n=1)"
    if all_equal:
        return f"(all {n_seeds} seeds equal)"
    return f"[{fmt(lower)}, {fmt(upper)}]"


def _unscored_note(scores: SearchScores) -> str:
    if scores.adaptive is not None:
        others = {e: why for e, why in scores.unscored.items() if e in scores.adaptive.experiments}
        listed = ", ".join(f"{experiment_dir_name(e)}: {why}" for e, why in list(others.items())[:5])
        return f"; {scores.adaptive.note()}" + (f"; {len(others)} of those were not scored ({listed})" if others
                                                else "")
    if not scores.unscored:
        return ""
    total = len(scores.experiments) + len(scores.unscored)
    listed = ", ".join(f"{experiment_dir_name(e)}: {why}" for e, why in list(scores.unscored.items())[:5])
    more = " ..." if len(scores.unscored) > 5 else ""
    return (f"; {len(scores.unscored)} of {total} experiments were not scored, no seed of theirs completed "
            f"({listed}{more})")


def _confidence(scores: SearchScores, overlap: list[int], single: list[int]) -> tuple[str, str]:
    """(confidence line, what to do next) of a search's summary."""
    s = scores.settings
    b = int(scores.order[0])
    n_other = int(np.isfinite(scores.point).sum()) - 1
    uncomparable = [e for e in single if e != scores.best]
    aside = (f"; {len(uncomparable)} experiment(s) with one seed cannot be compared (cannot tell: n=1)"
             if uncomparable else "") + _unscored_note(scores)
    by_p_best = np.argsort(-np.nan_to_num(scores.p_best, nan=-1.0), kind="stable")
    contenders = [scores.experiments[i] for i in by_p_best if scores.p_best[i] >= P_BEST_CONTENDER]
    if s.y_error_bars == "none":
        return ("unknown: no intervals (--y_error_bars none)" + aside,
                "choose y_error_bars to see how sure the choice is")
    if scores.n_seeds(scores.best) < 2:
        return (f"cannot tell: n=1: the best, {experiment_dir_name(scores.best)}, has a single scored seed, so "
                "nothing says how far another seed would move its score" + aside,
                "run at least 2 (better 5 or more) seeds of the top experiments before trusting the choice")
    if overlap:
        theirs = (f"its value {fmt(scores.point[b])} (all {scores.n_seeds(scores.best)} of its seeds scored it)"
                  if scores.all_equal(scores.best)
                  else f"its interval [{fmt(scores.lower[b])}, {fmt(scores.upper[b])}]")
        line = (f"low: {len(overlap)} of {n_other} other experiment(s) cannot be told apart from the best: their "
                f"95% intervals overlap (or touch) {theirs}" + aside)
        if len(contenders) > 1:
            todo = (f"run more seeds of the {len(contenders)} experiment(s) with P(best) >= {P_BEST_CONTENDER:.0%} "
                    f"({_names(contenders)}) to separate them")
        else:
            todo = (f"run more seeds of the best and the experiments overlapping it ({_names([scores.best, *overlap])})"
                    " to separate them")
        return line, todo
    ranked = [i for i in scores.order if np.isfinite(scores.point[i])]
    step = scores.resolution
    if step is not None and len(ranked) > 1:
        runner = ranked[1]
        gap = abs(float(scores.point[b] - scores.point[runner]))
        if gap < step:
            return (f"low: the best leads {experiment_dir_name(scores.experiments[runner])} by {fmt(gap)}, less than "
                    f"one step ({fmt(step)}) of the seed scores, which take few distinct values (e.g. an accuracy on "
                    "a fixed set of examples): a difference this small is noise of the evaluation" + aside,
                    "evaluate on more examples, or run more seeds of "
                    f"{_names([scores.best, scores.experiments[runner]])} to separate them")
    equal = (f"; the best's {scores.n_seeds(scores.best)} seeds all scored {fmt(scores.point[b])}: its interval "
             "shows no spread seen, not certainty") if scores.all_equal(scores.best) else ""
    where = f" among the {len(ranked)} scored experiments" if scores.unscored else ""
    return (f"high{where}: no other experiment's interval overlaps the best one's" + equal + aside,
            "retrain the best on more seeds to confirm it (python -m alfred.create_retrainbest)")


def summary_dict(scores: SearchScores, n_resamples: int, seed: int, *, is_retrain: bool = False,
                 retrain_of: dict | None = None) -> dict:
    """summary.json of a search, or of a retrain (``is_retrain``), with the search's estimate of the
    retrained experiment when known (``retrain_of``, see alfred.results.retrain_view.search_estimate)."""
    retrain = retrain_of
    s = scores.settings
    b = scores.experiments.index(scores.best)
    overlap = scores.overlapping()
    single = scores.single_seed()
    if is_retrain:
        from alfred.results.retrain_view import retrain_confidence

        confidence, next_step = retrain_confidence(scores, retrain)
        p_best, p_best_top, p_best_note = None, [], "not computed: a retrain has one experiment (nothing to rank)"
    else:
        confidence, next_step = _confidence(scores, overlap, single)
        p_best = float(scores.p_best[b]) if np.isfinite(scores.p_best[b]) else None
        p_best_top = [{"experiment": e, "p_best": p} for e, p in scores.p_best_top(P_BEST_TOP)]
        p_best_note = scores.p_best_note or ("cannot tell: n=1, the best has a single seed" if p_best is None else None)
    return {
        "storage_dir": str(scores.storage_dir), "kind": "retrain" if is_retrain else "search",
        "settings": s.to_dict(), "direction_note": s.direction_note or None,
        "interval": band_name(s.y_error_bars, n_resamples), "n_resamples": n_resamples, "seed": seed,
        "best_experiment": scores.best, "best_config": scores.configs[scores.best],
        "best_score": float(scores.point[b]), "best_interval": [float(scores.lower[b]), float(scores.upper[b])],
        "best_all_seeds_equal": scores.all_equal(scores.best),
        "overlapping_experiments": overlap if not is_retrain else [], "single_seed_experiments": single,
        "unscored_experiments": {str(e): why for e, why in scores.unscored.items()},
        "adaptive": None if scores.adaptive is None else {
            "ranked_at_step": scores.adaptive.step, "final": scores.adaptive.final,
            "n_reached": len(scores.adaptive.experiments), "n_experiments": scores.adaptive.n_experiments,
            "note": scores.adaptive.note()},
        "score_resolution": scores.resolution, "confidence": confidence,
        "p_best": p_best, "p_best_top": p_best_top, "p_best_note": p_best_note, "next_step": next_step,
        "retrain_of": retrain,
        "ranking": [{"experiment": scores.experiments[i], "score": float(scores.point[i]),
                     "lower": float(scores.lower[i]), "upper": float(scores.upper[i]),
                     "n_seeds": scores.n_seeds(scores.experiments[i]),
                     "all_seeds_equal": scores.all_equal(scores.experiments[i]),
                     "p_best": float(scores.p_best[i]) if np.isfinite(scores.p_best[i]) and not is_retrain else None}
                    for i in scores.order],
        "load_report": scores.report.to_dict(),
        "created": time.strftime("%Y-%m-%d %H:%M:%S"),
    }


def summary_text(d: dict, scores: SearchScores) -> str:
    """summary.txt, from the dict :func:`summary_dict` made."""
    s = scores.settings
    retrain = d.get("retrain_of")
    first = f"summary of {scores.storage_dir.name}"
    if d.get("kind") == "retrain":
        first += (f": the retrain of {experiment_dir_name(retrain['experiment'])} of {retrain['storage']}"
                  if retrain else ": a retrain (the search it retrains is not recorded in its prepare_info.json)")
    lines = [first + (f" -- {s.direction_note}" if s.direction_note else ""),
             f"performance: {s.performance_aggregation} of {s.perf_metric} per seed "
             f"({'lower' if s.lower_is_better else 'higher'} is better), {d['interval']} over seeds"]
    if d.get("adaptive"):
        lines.append(f"ranking: {d['adaptive']['note']} (rungs: rungs.txt)")
    if d.get("kind") == "retrain":
        lines += [f"retrain: {d['confidence'].partition(': ')[2]}",
                  f"config: {json.dumps(d['best_config'], sort_keys=True)}"]
        changed = (retrain or {}).get("changed") or {}
        if changed:
            lines.append("changed for the retrain: " + ", ".join(f"{k} {json.dumps(a)} -> {json.dumps(b)}"
                                                                 for k, (a, b) in changed.items()))
        lines += [f"P(best): {d['p_best_note']}", f"next: {d['next_step']}", ""]
    else:
        bi = d["best_interval"]
        lines += [f"best: experiment{d['best_experiment']} with {fmt(d['best_score'])} "
                  + _interval_text(bi[0], bi[1], scores.n_seeds(scores.best), d["best_all_seeds_equal"]),
                  f"config: {json.dumps(d['best_config'], sort_keys=True)}", f"confidence: {d['confidence']}"]
        if d["p_best_top"]:
            best = experiment_dir_name(d["best_experiment"])
            head = f"{_share(d['p_best'])} for {best}" if d["p_best"] is not None else \
                f"undefined for {best} ({d['p_best_note']}); among experiments with 2 or more seeds"
            top = ", ".join(f"{experiment_dir_name(t['experiment'])} {_share(t['p_best'])}" for t in d["p_best_top"])
            n_contenders = int(np.sum(scores.p_best >= P_BEST_CONTENDER))
            lines.append(f"P(best): {head} over {d['n_resamples']} resamples; top {len(d['p_best_top'])}: {top}; "
                         f"{n_contenders} experiment(s) have P(best) >= {P_BEST_CONTENDER:.0%}")
        else:
            lines.append(f"P(best): {d['p_best_note']}")
        lines.append(f"next: {d['next_step']}")
        if d["overlapping_experiments"]:
            lines.append("overlapping: " + ", ".join(experiment_dir_name(e) for e in d["overlapping_experiments"][:50])
                         + (" ..." if len(d["overlapping_experiments"]) > 50 else ""))
        lines += [f"({P_BEST_MEANING})", ""]
    lines.append(f"{'rank':>4}  {'experiment':>10}  {'score':>10}  {'lower':>10}  {'upper':>10}  {'seeds':>5}  "
                 f"{'P(best)':>9}")
    for r, row in enumerate(d["ranking"][:30], start=1):
        if row["n_seeds"] < 2 or row.get("all_seeds_equal"):
            bounds = f"{_interval_text(0, 0, row['n_seeds'], True).strip('()'):>22}"
        else:
            bounds = f"{fmt(row['lower']):>10}  {fmt(row['upper']):>10}"
        lines.append(f"{r:>4}  {row['experiment']:>10}  {fmt(row['score']):>10}  {bounds}  {row['n_seeds']:>5}  "
                     f"{_share(row['p_best']):>9}")
    if len(d["ranking"]) > 30:
        lines.append(f"... {len(d['ranking']) - 30} more in summary.json")
    if d["unscored_experiments"]:
        lines.append("not scored: " + ", ".join(f"{experiment_dir_name(int(e))} ({why})" for e, why in
                                                list(d["unscored_experiments"].items())[:30]))
    lines.append("")
    lines.append(scores.report.describe())
    return "\n".join(lines) + "\n"


def summary_headline(summary: dict, *, short: bool = False) -> str:
    """One line saying what a summary found: the best and how sure (``short``: the confidence's
    first word), or a retrain's two estimates; experiments left unscored are said in both forms."""
    if summary.get("kind") == "retrain":
        return summary.get("confidence") or "retrain"
    confidence = summary["confidence"]
    if short:
        unscored = summary.get("unscored_experiments") or {}
        n = len(unscored)
        adaptive = summary.get("adaptive")
        confidence = confidence.split(":")[0].split(" among ")[0] + " confidence" + (
            f"; ranked among the {adaptive['n_reached']} of {adaptive['n_experiments']} experiments that reached "
            f"step {adaptive['ranked_at_step']}" if adaptive else
            f"; {n} experiment{'s' if n > 1 else ''} not scored, no seed of theirs completed" if n else "")
        return f"best experiment{summary['best_experiment']} ({confidence})"
    return f"best experiment{summary['best_experiment']} ({fmt(summary['best_score'])}); confidence {confidence}"


def summary_notes(summary: dict) -> list[str]:
    """What a script should print under a summary's headline: how the direction was decided
    (when it was not set) and the seeds that could not be read (e.g. a refused pickle)."""
    notes = [summary["direction_note"]] if summary.get("direction_note") else []
    unreadable = (summary.get("load_report") or {}).get("unreadable") or []
    if unreadable:
        more = f" (and {len(unreadable) - 1} more in summary.txt)" if len(unreadable) > 1 else ""
        notes.append(f"{len(unreadable)} seed(s) unreadable, left out: {unreadable[0]}{more}")
    return notes
