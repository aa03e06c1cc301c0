"""Which metrics a summary uses: the schedule's RESULTS, stored in prepare_info.json, then flags.

A schedule may hold ``RESULTS = {"y_metric": "eval_return", ...}`` (keys below): prepare_schedule
checks it and stores it in the storage dir's ``prepare_info.json``, and every results script
(benchmark, make_plot_arrays, create_retrainbest, the automatic summaries) starts from it.
Command-line flags override it. :func:`resolve_settings` is the one place this is decided.
"""
from __future__ import annotations

import argparse
import re
from dataclasses import dataclass, field, fields
from pathlib import Path

from alfred.utils.config import load_dict_from_json
from alfred.utils.layout import DEFAULT_RECORDER, StorageDir
from alfred.utils.misc import AlfredError

__all__ = ["DEFAULT_MAX_PANELS", "ResultsSettings", "RESULTS_KEYS", "ERROR_BARS", "LOWER_IS_BETTER_WORDS",
           "add_results_args", "check_aggregation", "infer_direction", "recorded_defaults", "resolve_settings",
           "validate_results_settings", "overrides_from"]

DEFAULT_MAX_PANELS = 64  # plot arrays: panels drawn by default (alfred.utils.plots.MAX_PANELS: the most a figure holds)
RESULTS_KEYS = {
    "x_metric": "name of the recorded metric on the x-axis of learning curves (e.g. 'step')",
    "y_metric": "name of the recorded metric on the y-axis of learning curves",
    "performance_metric": "recorded metric that ranks experiments (default: y_metric)",
    "performance_aggregation": "min, max, avg, last or last_<k>% (a curve -> one score per seed)",
    "y_error_bars": "bootstrapped_CI, stderr, 10th_quantile or none",
    "lower_is_better": "true when a lower performance is better (unset: inferred from the metric's name, e.g. a loss)",
}
ERROR_BARS = ("bootstrapped_CI", "stderr", "10th_quantile", "none")


def check_aggregation(mode: str) -> str:
    """AlfredError unless ``mode`` is min, max, avg, last or last_<k>% with 0 < k <= 100."""
    m = re.fullmatch(r"last_(\d+(?:\.\d+)?)%", mode) if isinstance(mode, str) else None
    if mode in ("min", "max", "avg", "last") or (m and 0 < float(m.group(1)) <= 100):
        return mode
    raise AlfredError(f"performance_aggregation {mode!r} is not valid: use min, max, avg, last or last_<k>% "
                      "with 0 < k <= 100 (e.g. last_10%)")


def validate_results_settings(settings: object, where: str = "RESULTS") -> dict:
    """Check a ``RESULTS`` dict (keys, value types); AlfredError in one line naming what is valid."""
    if not isinstance(settings, dict):
        raise AlfredError(f"{where} must be a dict with keys among {', '.join(RESULTS_KEYS)}, "
                          f"got {type(settings).__name__}")
    unknown = [k for k in settings if k not in RESULTS_KEYS]
    if unknown:
        raise AlfredError(f"{where} has unknown key(s) {', '.join(map(repr, unknown))}; "
                          f"valid: {', '.join(RESULTS_KEYS)}")
    for key, value in settings.items():
        if key == "lower_is_better":
            if not isinstance(value, bool):
                raise AlfredError(f"{where}['lower_is_better'] must be True or False, got {value!r}")
        elif value is not None and not isinstance(value, str):
            raise AlfredError(f"{where}[{key!r}] must be a string ({RESULTS_KEYS[key]}), got {value!r}")
        elif key == "performance_aggregation" and value is not None:
            check_aggregation(value)
        elif key == "y_error_bars" and value is not None and value not in ERROR_BARS:
            raise AlfredError(f"{where}['y_error_bars'] {value!r} is not valid; use {', '.join(ERROR_BARS)}")
    return dict(settings)


@dataclass
class ResultsSettings:
    x_metric: str | None = None
    y_metric: str | None = None
    performance_metric: str | None = None
    performance_aggregation: str = "last"
    y_error_bars: str = "bootstrapped_CI"
    lower_is_better: bool = False
    recorder_name: str = DEFAULT_RECORDER
    # How the direction was decided when lower_is_better was not set (infer_direction); "" when set.
    direction_note: str = field(default="", compare=False)

    @property
    def perf_metric(self) -> str:
        return self.performance_metric or self.y_metric

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in (*RESULTS_KEYS, "recorder_name")}


_FIELDS = tuple(f.name for f in fields(ResultsSettings) if f.name != "direction_note")

# Words that make a metric lower-is-better when lower_is_better is not set: matched against
# the whole words of its name (``val_loss``, ``testError``, ``mse`` match; ``glossary``,
# ``errorless`` do not). Left out on purpose: ambiguous words such as time, length, duration
# or distance (an episode's length is a reward in CartPole).
LOWER_IS_BETTER_WORDS = frozenset({
    "loss", "losses", "error", "errors", "err", "regret", "regrets", "perplexity", "ppl", "mse", "mae", "rmse",
    "nll", "cost", "costs", "wer", "cer", "fid", "bpd", "bpc", "xent", "crossentropy", "latency", "runtime",
    "walltime",
})
_NEGATIONS = frozenset({"neg", "negative", "minus"})  # "neg_mse" is higher-is-better (scikit-learn scorers)
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def infer_direction(metric: str | None, lower_is_better: bool | None) -> tuple[bool, str]:
    """(lower_is_better, the note saying how it was decided) for a performance metric.

    Set explicitly (True or False): that, with no note. Not set: lower when the metric's
    name holds one of LOWER_IS_BETTER_WORDS as a word (split at ``_``, ``-``, ``.``,
    digits and camelCase; not after a negation such as ``neg_``), else higher; the note
    says which and how to set it.
    """
    if lower_is_better is not None:
        return bool(lower_is_better), ""
    words = [w.lower() for w in _WORD.findall(metric or "")]
    found = [w for w in words if w in LOWER_IS_BETTER_WORDS]
    if found and not _NEGATIONS & set(words):
        return True, (f"lower {metric} is better: inferred from {found[0]!r} in its name (lower_is_better is not "
                      "set; RESULTS = {'lower_is_better': False} in the schedule says otherwise)")
    return False, (f"higher {metric} is better: assumed, as lower_is_better is not set and the name says nothing "
                   "else (for a loss: --lower_is_better, or RESULTS = {'lower_is_better': True} in the schedule)")


def recorded_defaults(storage_dir: Path) -> dict:
    """The ``results`` settings prepare_schedule stored from the schedule's RESULTS (may be empty)."""
    path = StorageDir(storage_dir).prepare_info
    if not path.is_file():
        return {}
    return validate_results_settings(load_dict_from_json(path).get("results") or {}, f"{path} 'results'")


def resolve_settings(storage_dir: Path, overrides: dict | None = None) -> ResultsSettings:
    """Settings for one storage dir: RESULTS from prepare_info.json, then non-None ``overrides``.

    A missing y_metric is inferred when the recorder holds exactly one metric besides the
    x_metric (and 'step'); a missing x_metric is 'step' when recorded, else the entry index.
    """
    from alfred.results.loading import first_recorded_metrics

    values = {**recorded_defaults(storage_dir), **{k: v for k, v in (overrides or {}).items() if v is not None}}
    settings = ResultsSettings(**{k: v for k, v in values.items() if k in _FIELDS})
    check_aggregation(settings.performance_aggregation)
    if settings.y_error_bars not in ERROR_BARS:
        raise AlfredError(f"y_error_bars {settings.y_error_bars!r} is not valid; use {', '.join(ERROR_BARS)}")
    if settings.y_metric is None or settings.x_metric is None:
        recorded = first_recorded_metrics(storage_dir, settings.recorder_name)
        if settings.x_metric is None and "step" in recorded:
            settings.x_metric = "step"
        if settings.y_metric is None:
            candidates = [m for m in recorded if m not in (settings.x_metric, "step")]
            if len(candidates) != 1:
                listed = ", ".join(recorded) if recorded else f"none (no {settings.recorder_name} recorder found)"
                raise AlfredError(f"no y_metric for {Path(storage_dir).name}: pass --y_metric or set RESULTS = "
                                  f"{{'y_metric': ...}} in the schedule; recorded metrics: {listed}")
            settings.y_metric = candidates[0]
    settings.lower_is_better, settings.direction_note = infer_direction(settings.perf_metric,
                                                                        values.get("lower_is_better"))
    return settings


def add_results_args(parser: argparse.ArgumentParser) -> None:
    """The metric choices shared by benchmark, make_plot_arrays and create_retrainbest."""
    parser.add_argument("--performance_metric", default=None,
                        help="recorded metric that ranks experiments (default: RESULTS, else --y_metric)")
    parser.add_argument("--performance_aggregation", default=None,
                        help="min, max, avg, last or last_<k>%%: how a seed's curve becomes one score "
                             "(default: RESULTS, else last)")
    parser.add_argument("--lower_is_better", default=None, action="store_true",
                        help="a lower performance is better (default: RESULTS, else lower when the metric's name "
                             "says loss, error, regret, perplexity, mse, nll, cost..., else higher)")
    parser.add_argument("--recorder_name", default=None,
                        help=f"recorder file name in each seed's recorders/, any suffix (default: {DEFAULT_RECORDER})")


def overrides_from(args: argparse.Namespace) -> dict:
    """The results settings given on a command line (None where not given)."""
    return {k: getattr(args, k, None) for k in _FIELDS}
