"""Which metrics a summary uses: flags, then the schedule's RESULTS, then the defaults of each metric.

A schedule may hold ``RESULTS = {"y_metric": "eval_return", ...}`` (keys below): prepare_schedule
checks it and stores it in the storage dir's ``prepare_info.json``, and every results script
(benchmark, make_plot_arrays, create_retrainbest, launch_schedule's automatic summaries) starts
from it. Command-line flags override it. What neither sets falls back, per metric, to the
first of these that the recorder holds:

    x_metric            the project's alfred.defaults.DEFAULT_BENCHMARK_X_METRIC, alfred's ('episode'), 'step'
    y_metric            the project's DEFAULT_BENCHMARK_Y_METRIC, alfred's ('eval_return'), else
                        the one recorded metric besides the x and performance metrics and 'step',
                        else the performance metric
    performance_metric  (only when y_metric is not set either) the project's
                        DEFAULT_BENCHMARK_PERFORMANCE_METRIC, alfred's ('avg_eval_return'), else y_metric
    performance_aggregation 'last', y_error_bars 'bootstrapped_CI', recorder_name 'train_recorder'

"The project's" values are those in force when prepare_schedule loaded its main.py and schedule
(stored under ``"defaults"`` in prepare_info.json), so a later summary honours them without
importing the project. Only when nothing resolves a y metric does a summary stop, in one line.
:func:`resolve_settings` is the one place this is decided.
"""
from __future__ import annotations

import argparse
import re
from dataclasses import dataclass, field, fields
from pathlib import Path

from alfred.protocol.layout import DEFAULT_RECORDER, StorageDir
from alfred.utils.config import add_bool_flag, load_dict_from_json
from alfred.utils.misc import AlfredError

__all__ = ["DEFAULT_MAX_PANELS", "ResultsSettings", "RESULTS_KEYS", "ERROR_BARS", "LOWER_IS_BETTER_WORDS",
           "HIGHER_IS_BETTER_WORDS", "add_figure_args", "add_results_args", "check_aggregation", "infer_direction",
           "recorded_defaults", "metric_fallbacks",
           "plot_arrays_to_make", "plot_arrays_for", "resolve_settings",
           "validate_results_settings", "overrides_from"]

DEFAULT_MAX_PANELS = 64  # plot arrays: panels drawn by default (alfred.utils.plots.MAX_PANELS: the most a figure holds)
RESULTS_KEYS = {
    "x_metric": "name of the recorded metric on the x-axis of learning curves (e.g. 'step')",
    "y_metric": "name of the recorded metric on the y-axis of learning curves",
    "performance_metric": "recorded metric that ranks experiments (default: y_metric)",
    "performance_aggregation": "min, max, avg, last or last_<k>% (a curve -> one score per seed)",
    "y_error_bars": "bootstrapped_CI, stderr, 10th_quantile or none",
    "lower_is_better": "true when a lower performance is better (unset: inferred from the metric's name, e.g. a loss)",
    "recorder_name": f"recorder file name in each seed's recorders/, any suffix (default: {DEFAULT_RECORDER})",
}
ERROR_BARS = ("bootstrapped_CI", "stderr", "10th_quantile", "none")
_AGGREGATION_02 = {"mean_on_last_20_percents": "last_20%"}  # 0.2's name (its default) -> today's


def _error_bars_word(text: str) -> str:
    """argparse ``type=`` of --y_error_bars: ``None`` (0.3's spelling) is ``none``."""
    return "none" if text == "None" else text


def _aggregation_word(text: str) -> str:
    """argparse ``type=`` of --performance_aggregation: 0.2's ``mean_on_last_20_percents`` is ``last_20%``."""
    return _AGGREGATION_02.get(text, text)


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
        return {k: getattr(self, k) for k in RESULTS_KEYS}


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
# Words that make a metric higher-is-better, said as inferred rather than assumed (same matching).
HIGHER_IS_BETTER_WORDS = frozenset({
    "accuracy", "accuracies", "acc", "return", "returns", "reward", "rewards", "f1", "auc", "auroc", "auprc",
    "precision", "recall", "iou", "miou", "bleu", "rouge", "meteor", "success", "win", "wins", "winrate", "r2",
    "ndcg", "mrr", "psnr", "ssim", "elo", "likelihood", "elbo", "fitness",
})  # not "score": an anomaly score or a distance score may be lower-is-better
_NEGATIONS = frozenset({"neg", "negative", "minus"})  # "neg_mse" is higher-is-better (scikit-learn scorers)
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def infer_direction(metric: str | None, lower_is_better: bool | None) -> tuple[bool, str]:
    """(lower_is_better, the note saying how it was decided) for a performance metric.

    Set explicitly (True or False): that, with no note. Not set: lower when the metric's
    name holds one of LOWER_IS_BETTER_WORDS as a word (split at ``_``, ``-``, ``.``,
    digits and camelCase; not after a negation such as ``neg_``), higher when it holds one
    of HIGHER_IS_BETTER_WORDS (``val_accuracy``, ``eval_return``) or a negated lower word
    (``neg_mse``), lower for a negated higher word (``neg_log_likelihood``): all said
    "inferred"; else higher, said "assumed". The note says which and how to set it.
    """
    if lower_is_better is not None:
        return bool(lower_is_better), ""
    words = [w.lower() for w in _WORD.findall(metric or "")]
    found = [w for w in words if w in LOWER_IS_BETTER_WORDS]
    negated = bool(_NEGATIONS & set(words))
    alnum = [w for w in re.split(r"[^a-z0-9]+", (metric or "").lower()) if w]  # f1, r2: letters with digits
    higher = [w for w in dict.fromkeys(words + alnum) if w in HIGHER_IS_BETTER_WORDS]
    if (found and not negated) or (higher and negated):
        why = f"{found[0]!r}" if found and not negated else f"negated {higher[0]!r}"
        return True, (f"lower {metric} is better: inferred from {why} in its name (lower_is_better is not "
                      "set; RESULTS = {'lower_is_better': False} in the schedule says otherwise)")
    if higher or found:
        why = f"{higher[0]!r}" if higher else f"negated {found[0]!r}"
        return False, (f"higher {metric} is better: inferred from {why} in its name (lower_is_better is "
                       "not set; RESULTS = {'lower_is_better': True} in the schedule says otherwise)")
    return False, (f"higher {metric} is better: assumed, as lower_is_better is not set and the name says nothing "
                   "else (for a loss: --lower_is_better, or RESULTS = {'lower_is_better': True} in the schedule)")




def _prepare_info(storage_dir: Path) -> dict:
    path = StorageDir(storage_dir).prepare_info
    return load_dict_from_json(path) if path.is_file() else {}


def recorded_defaults(storage_dir: Path) -> dict:
    """The ``results`` settings prepare_schedule stored from the schedule's RESULTS (may be empty)."""
    return validate_results_settings(_prepare_info(storage_dir).get("results") or {},
                                     f"{StorageDir(storage_dir).prepare_info} 'results'")


def metric_fallbacks(storage_dir: Path) -> dict[str, list[str]]:
    """Per metric setting, the default names to try in order: the project's (recorded in
    prepare_info.json when the search was prepared), then those of this process's alfred.defaults."""
    from alfred import defaults

    recorded = _prepare_info(storage_dir).get("defaults") or {}
    now = defaults.results_defaults()
    return {key: [m for m in dict.fromkeys((recorded.get(key), now[key])) if isinstance(m, str)]
            for key in ("x_metric", "y_metric", "performance_metric")}


def plot_arrays_to_make(storage_dir: Path) -> list[tuple[str, str, tuple | None, tuple | None]]:
    """The project's DEFAULT_PLOTS_ARRAYS_TO_MAKE (recorded at prepare time, else this process's)."""
    from alfred import defaults

    recorded = _prepare_info(storage_dir).get("defaults") or {}
    pairs = recorded.get("plot_arrays", defaults.results_defaults()["plot_arrays"])
    out = []
    for pair in pairs:
        x, y, x_lim, y_lim = (list(pair) + [None, None])[:4]
        out.append((x, y, tuple(x_lim) if x_lim else None, tuple(y_lim) if y_lim else None))
    return out


def plot_arrays_for(storage_dir: Path, settings: ResultsSettings, overrides: dict | None = None
                    ) -> list[tuple[str | None, str, tuple | None, tuple | None]]:
    """``(x_metric, y_metric, x_lim, y_lim)`` of each plot array to draw: the settings' pair when a
    flag or RESULTS names a metric, else the DEFAULT_PLOTS_ARRAYS_TO_MAKE pairs whose metrics are
    recorded, else the settings' pair."""
    named = {**recorded_defaults(storage_dir), **{k: v for k, v in (overrides or {}).items() if v is not None}}
    if not named.get("x_metric") and not named.get("y_metric"):
        from alfred.results.loading import first_recorded_metrics

        recorded = first_recorded_metrics(storage_dir, settings.recorder_name)
        pairs = [p for p in plot_arrays_to_make(storage_dir) if p[1] in recorded and (p[0] is None or p[0] in recorded)]
        if pairs:
            return pairs
    return [(settings.x_metric, settings.y_metric, None, None)]


def resolve_settings(storage_dir: Path, overrides: dict | None = None) -> ResultsSettings:
    """Settings for one storage dir: non-None ``overrides`` (flags), then RESULTS from
    prepare_info.json, then each metric's defaults when recorded (see the module doc)."""
    from alfred.results.loading import first_recorded_metrics

    explicit = {**recorded_defaults(storage_dir), **{k: v for k, v in (overrides or {}).items() if v is not None}}
    settings = ResultsSettings(**{k: v for k, v in explicit.items() if k in _FIELDS})
    check_aggregation(settings.performance_aggregation)
    if settings.y_error_bars not in ERROR_BARS:
        raise AlfredError(f"y_error_bars {settings.y_error_bars!r} is not valid; use {', '.join(ERROR_BARS)}")
    if None in (settings.x_metric, settings.y_metric, settings.performance_metric):
        recorded = first_recorded_metrics(storage_dir, settings.recorder_name)
        fallbacks = metric_fallbacks(storage_dir)

        def first_recorded(key: str) -> str | None:
            return next((m for m in fallbacks[key] if m in recorded), None)

        if settings.x_metric is None:
            settings.x_metric = first_recorded("x_metric") or ("step" if "step" in recorded else None)
        if settings.performance_metric is None and settings.y_metric is None:  # else: performance = y_metric
            settings.performance_metric = first_recorded("performance_metric")
        if settings.y_metric is None:
            settings.y_metric = first_recorded("y_metric")
        if settings.y_metric is None:
            candidates = [m for m in recorded if m not in (settings.x_metric, "step", settings.performance_metric)]
            if len(candidates) == 1:
                settings.y_metric = candidates[0]
            elif settings.performance_metric in recorded:
                settings.y_metric = settings.performance_metric
            else:
                if not recorded:
                    _require_a_completed_seed(storage_dir)
                listed = ", ".join(recorded) if recorded else f"none (no {settings.recorder_name} recorder found)"
                raise AlfredError(f"no y_metric for {Path(storage_dir).name}: pass --y_metric or set RESULTS = "
                                  f"{{'y_metric': ...}} in the schedule; recorded metrics: {listed}")
    settings.lower_is_better, settings.direction_note = infer_direction(settings.perf_metric,
                                                                        explicit.get("lower_is_better"))
    return settings


def _require_a_completed_seed(storage_dir: Path) -> None:
    """AlfredError saying that no seed completed (and how the others ended), when none did: the
    reason no metric is recorded, rather than a missing y_metric."""
    from collections import Counter

    from alfred.protocol.listing import iter_seed_dirs
    from alfred.protocol.seed_state import SeedState, seed_state

    states = Counter(seed_state(seed_dir).state for _, _, seed_dir in iter_seed_dirs(storage_dir))
    if states[SeedState.COMPLETED]:
        return
    name = Path(storage_dir).name
    if not states:
        raise AlfredError(f"{name} holds no seed folder: an empty search has nothing to summarise")
    counts = ", ".join(f"{n} {state.name.lower()}" for state, n in states.most_common())
    hint = (f"; python -m alfred.status --storage_name {name} --crashes lists the crashes"
            if states[SeedState.CRASHED] else "; launch it first")
    raise AlfredError(f"no seed of {name} completed ({counts}): nothing to summarise{hint}")


def add_results_args(parser: argparse.ArgumentParser, *, metric_lists: bool = False) -> None:
    """The results flags every results script takes (benchmark, make_plot_arrays,
    create_retrainbest, launch_schedule for its automatic summaries); ``metric_lists``: --x_metric
    and --y_metric take several names (make_plot_arrays draws one figure per pair)."""
    nargs = "+" if metric_lists else None
    group = parser.add_argument_group("results (default: the schedule's RESULTS, else each metric's default "
                                      "when recorded: see alfred.results.settings)")
    group.add_argument("--x_metric", nargs=nargs, default=None,
                       help="x-axis metric of learning curves (default: 'episode', else 'step', when recorded)")
    group.add_argument("--y_metric", nargs=nargs, default=None,
                       help="y-axis metric of learning curves (default: 'eval_return' when recorded, else the one "
                            "other recorded metric)")
    group.add_argument("--performance_metric", default=None,
                       help="recorded metric that ranks experiments (default: 'avg_eval_return' when recorded and "
                            "no y_metric is set, else the y_metric)")
    group.add_argument("--performance_aggregation", type=_aggregation_word, default=None,
                       help="min, max, avg, last or last_<k>%% (0.2's mean_on_last_20_percents: last_20%%): how a "
                            "seed's curve becomes one score (default: last)")
    group.add_argument("--y_error_bars", type=_error_bars_word, choices=ERROR_BARS, default=None,
                       help="interval over seeds (default: bootstrapped_CI)")
    add_bool_flag(group, "--lower_is_better", default=None,
                  help="a lower performance is better (default: inferred from the performance metric's name: "
                       "lower for a loss, an error, a regret, ..., else higher; the summary says which)")
    group.add_argument("--recorder_name", default=None,
                       help=f"recorder file name in each seed's recorders/, any suffix (default: {DEFAULT_RECORDER})")


def add_figure_args(parser: argparse.ArgumentParser) -> None:
    """``--style`` and ``--figure_formats``: how the figures of summaries, comparisons and plot
    arrays are drawn (alfred.utils.plots.presets)."""
    from alfred.utils.plots.presets import STYLES

    group = parser.add_argument_group("figures")
    group.add_argument("--style", choices=list(STYLES), default=None,
                       help="screen (default), paper (a paper's text width, 5.5 in, 8 pt text) or paper_column "
                            "(one column, 3.25 in, 7 pt): sizes and fonts for print; the paper styles add PDFs "
                            "(TrueType fonts, as venues require) and leave titles to the caption")
    group.add_argument("--figure_formats", default=None, metavar="FMT[,FMT]",
                       help="formats written besides PNG, e.g. pdf or pdf,svg (default: none on screen; pdf for "
                            "the paper styles)")


def overrides_from(args: argparse.Namespace) -> dict:
    """The results settings given on a command line (None where not given)."""
    return {k: getattr(args, k, None) for k in _FIELDS}
