"""Load and validate a schedule file (grid, random or adaptive search) and a project's ``main.py``."""
from __future__ import annotations

import argparse
import ast
import importlib.util
import itertools
import json
import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Literal

from alfred.protocol.layout import list_searches_path
from alfred.protocol.storage_names import check_name
from alfred.utils.misc import AlfredError
from alfred.utils.schedule_checks import capture_parser, check_against_parser, check_duplicate_keys

__all__ = ["Schedule", "load_schedule", "import_user_main", "check_user_main_file"]

SearchKind = Literal["grid", "random", "adaptive"]
RESERVED = ("alg_name", "task_name", "seed", "desc")
_REQUIRED = {
    "grid": ("ALG_NAMES", "TASK_NAMES", "SEEDS", "VARIATIONS", "get_run_args"),
    "random": ("ALG_NAMES", "TASK_NAMES", "SEEDS", "N_EXPERIMENTS", "sample_experiment", "get_run_args"),
    "adaptive": ("ALG_NAMES", "TASK_NAMES", "ADAPTIVE", "get_run_args"),  # SEEDS: default [1]
}
_RESERVED_HINT = {"alg_name": "ALG_NAMES", "task_name": "TASK_NAMES", "seed": "SEEDS", "desc": "--desc"}


@dataclass
class Schedule:
    """A validated schedule: what to create, before anything is written."""

    path: Path
    name: str
    kind: SearchKind
    alg_names: list[str]
    task_names: list[str]
    seeds: list[int]
    default_config: argparse.Namespace
    variations: dict[str, list] = field(default_factory=dict)
    n_experiments: int = 0
    sample_experiment: Callable[[], dict] | None = None
    results: dict[str, Any] = field(default_factory=dict)  # RESULTS: defaults of summaries
    parser: argparse.ArgumentParser | None = field(default=None, repr=False, compare=False)  # get_run_args'
    adaptive: Any = None  # AdaptiveSpec of an adaptive schedule (ADAPTIVE)

    @property
    def list_searches_path(self) -> Path:
        return list_searches_path(self.path, self.name)

    def grid_experiments(self) -> list[dict[str, Any]]:
        """Every combination of VARIATIONS, in the order the lists give."""
        keys = list(self.variations)
        return [dict(zip(keys, values, strict=True)) for values in itertools.product(*self.variations.values())]

    def sample_experiments(self, n: int) -> list[dict[str, Any]]:
        """``n`` calls of sample_experiment(), each checked like a VARIATIONS key."""
        samples = []
        for _ in range(n):
            try:
                sample = self.sample_experiment()
            except KeyboardInterrupt:
                raise
            except BaseException as e:  # SystemExit too: a schedule must not end alfred's process
                raise _fail(self.path, f"sample_experiment() {_what_happened(e, self.path)}; it must return "
                                       "a dict of hyperparameter values") from None
            if not isinstance(sample, dict):
                raise AlfredError(f"{self.path}: sample_experiment() must return a dict, got {type(sample).__name__}")
            _check_keys(self.path, "sample_experiment()", sample, self.default_config)
            _check_json(self.path, "sample_experiment()", sample)
            check_against_parser(self.path, "sample_experiment()", sample, self.parser)
            samples.append(sample)
        return samples


def _fail(path: Path, message: str) -> AlfredError:
    return AlfredError(f"schedule {path}: {message}")


def _what_happened(e: BaseException, source: Path) -> str:
    """``'raised ValueError at line 7: bad lr'`` or ``'called sys.exit(3) at line 2'``: one line,
    with the last line of ``source`` in the traceback."""
    import traceback  # here: only on this error path

    if isinstance(e, SystemExit):
        what = f"called sys.exit({'' if e.code is None else repr(e.code)})"
    else:
        what = f"raised {type(e).__name__}"
    source = source.resolve()
    lines = [f.lineno for f in traceback.extract_tb(e.__traceback__) if Path(f.filename).resolve() == source]
    if lines:
        what += f" at line {lines[-1]}"
    try:
        text = " ".join(str(e).split()) if not isinstance(e, SystemExit) else ""
    except Exception:  # an exception whose __str__ fails still gets its one line
        text = ""
    if len(text) > 200:
        text = text[:200] + "..."
    return f"{what}: {text}" if text else what


def import_user_main(project_dir: str | os.PathLike = ".") -> ModuleType:
    """Import ``<project_dir>/main.py`` as module ``main`` (schedules do ``from main import ...``).

    The project folder goes first on sys.path so main's own imports work; a ``main`` module
    cached from another folder is replaced.
    """
    project_dir = Path(project_dir).resolve()
    path = project_dir / "main.py"
    if not path.is_file():
        raise AlfredError(f"no main.py in {project_dir}: run alfred from your project folder, "
                          "which holds main.py with get_run_args() and main()")
    if str(project_dir) not in sys.path:
        sys.path.insert(0, str(project_dir))
    cached = sys.modules.get("main")
    if cached is not None and Path(getattr(cached, "__file__", "") or "").resolve() == path:
        return cached
    spec = importlib.util.spec_from_file_location("main", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["main"] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop("main", None)
        raise
    return module


def check_user_main_file(project_dir: str | os.PathLike = ".") -> Path:
    """Cheap check, without importing it, that main.py exists and defines ``main``."""
    path = Path(project_dir).resolve() / "main.py"
    if not path.is_file():
        raise AlfredError(f"no main.py in {path.parent}: run alfred from your project folder, "
                          "which holds main.py with main(config, dir_tree, logger, pbar)")
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except SyntaxError as e:
        raise AlfredError(f"syntax error in {path} line {e.lineno}: {e.msg}") from None
    defined = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            defined.add(node.name)
        elif isinstance(node, ast.Assign):
            defined.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            defined.update((a.asname or a.name).split(".")[0] for a in node.names)
    if "main" not in defined:
        raise AlfredError(f"{path} defines no main(config, dir_tree, logger, pbar) function")
    return path


def load_schedule(path: str | os.PathLike, project_dir: str | os.PathLike = ".", *,
                  max_runs: int | None = None) -> Schedule:
    """Load a ``grid_schedule_*.py`` / ``random_schedule_*.py`` / ``adaptive_schedule_*.py`` file, validate all of it.

    Raises AlfredError with one line naming the problem and what is valid; with ``max_runs``,
    first of all for a search of more runs (experiments x seeds) per storage dir.
    """
    path = Path(path)
    if not path.is_file():
        raise AlfredError(f"schedule file {path} does not exist")
    if path.suffix != ".py":
        raise AlfredError(f"schedule file {path} must be a Python file ending in .py")
    source = path.read_text(encoding="utf-8")
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as e:
        raise AlfredError(f"syntax error in schedule {path} line {e.lineno}: {e.msg}") from None
    check_duplicate_keys(path, tree)
    module = _exec_schedule(path, source, project_dir)
    kind = _search_kind(path, module)
    missing = [name for name in _REQUIRED[kind] if not hasattr(module, name)]
    if missing:
        raise _fail(path, f"a {kind} schedule must define {', '.join(_REQUIRED[kind])}; missing: {', '.join(missing)}")
    if max_runs is not None:
        _check_size(path, module, kind, max_runs)

    alg_names = _name_list(path, "ALG_NAMES", module.ALG_NAMES, "alg_name")
    task_names = _name_list(path, "TASK_NAMES", module.TASK_NAMES, "task_name")
    seeds = _seed_list(path, getattr(module, "SEEDS", [1]) if kind == "adaptive" else module.SEEDS)
    default_config, parser = _default_config(path, module.get_run_args)
    for attr, key, names in (("ALG_NAMES", "alg_name", alg_names), ("TASK_NAMES", "task_name", task_names)):
        for value in names:
            check_against_parser(path, attr, {key: value}, parser)
    name = path.stem
    for prefix in ("grid_schedule_", "random_schedule_", "adaptive_schedule_"):
        if name.startswith(prefix) and len(name) > len(prefix):
            name = name[len(prefix):]
    schedule = Schedule(path=path.resolve(), name=name, kind=kind, alg_names=alg_names, task_names=task_names,
                        seeds=seeds, default_config=default_config, parser=parser)
    if hasattr(module, "RESULTS"):
        from alfred.results.settings import validate_results_settings

        try:
            schedule.results = validate_results_settings(module.RESULTS)
        except AlfredError as e:
            raise _fail(path, str(e)) from None
    if kind == "grid":
        schedule.variations = _variations(path, module.VARIATIONS, default_config)
        for key, values in schedule.variations.items():
            for value in values:
                check_against_parser(path, "VARIATIONS", {key: value}, parser)
    elif kind == "adaptive":
        from alfred.utils.schedule_adaptive import check_adaptive

        schedule.adaptive = check_adaptive(path, module.ADAPTIVE, default_config, parser, seeds, max_runs)
    else:
        n = module.N_EXPERIMENTS
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise _fail(path, f"N_EXPERIMENTS must be a positive integer, got {n!r}")
        if not callable(module.sample_experiment):
            raise _fail(path, "sample_experiment must be a function returning a dict of hyperparameters")
        schedule.n_experiments = n
        schedule.sample_experiment = module.sample_experiment
    return schedule


def _exec_schedule(path: Path, source: str, project_dir: str | os.PathLike) -> ModuleType:
    project_dir = Path(project_dir).resolve()
    main_path = project_dir / "main.py"
    if main_path.is_file():
        try:
            import_user_main(project_dir)  # so that ``from main import get_run_args`` finds this project's
        except KeyboardInterrupt:
            raise
        except BaseException as e:  # SystemExit too: main.py must not end alfred's process
            raise _fail(path, f"importing {main_path} {_what_happened(e, main_path)}; main.py must import "
                              "without raising or exiting") from None
    elif str(project_dir) not in sys.path:
        sys.path.insert(0, str(project_dir))
    module = ModuleType(f"alfred_schedule_{path.stem}")
    module.__file__ = str(path.resolve())
    try:
        exec(compile(source, str(path), "exec"), module.__dict__)
    except ModuleNotFoundError as e:
        hint = " (run alfred from the project folder that holds main.py)" if e.name == "main" else ""
        raise _fail(path, f"{e}{hint}") from None
    except KeyboardInterrupt:
        raise
    except BaseException as e:  # SystemExit too: a schedule must not end alfred's process
        raise _fail(path, f"loading it {_what_happened(e, path)}; a schedule must only define its names, "
                          "lists and functions, without raising or exiting") from None
    return module


def _search_kind(path: Path, module: ModuleType) -> SearchKind:
    if path.name.startswith("grid_schedule"):
        return "grid"
    if path.name.startswith("random_schedule"):
        return "random"
    if path.name.startswith("adaptive_schedule") or hasattr(module, "ADAPTIVE"):
        return "adaptive"
    has_grid, has_random = hasattr(module, "VARIATIONS"), hasattr(module, "sample_experiment")
    if has_grid != has_random:
        return "grid" if has_grid else "random"
    raise _fail(path, "cannot tell grid from random search: name it grid_schedule_<name>.py (with VARIATIONS) "
                      "or random_schedule_<name>.py (with N_EXPERIMENTS and sample_experiment()) or "
                      "adaptive_schedule_<name>.py (with ADAPTIVE)")


def _check_size(path: Path, module: ModuleType, kind: SearchKind, max_runs: int) -> None:
    """Refuse a search of more than ``max_runs`` runs (experiments x seeds) per storage dir from
    lengths alone, before any value is looked at: ``SEEDS = range(10**7)`` or a 10^7-value list
    is refused at once, not after minutes of checks (or memory filled by a plan)."""
    try:
        n_seeds = len(module.SEEDS)
        sizes = [len(v) for v in module.VARIATIONS.values()] if kind == "grid" else []
        n = math.prod(sizes) if kind == "grid" else module.N_EXPERIMENTS
        n_runs = n * n_seeds
    except (TypeError, AttributeError):  # not lists: the checks that follow say what is wrong
        return
    if not isinstance(n_runs, int) or n_runs <= max_runs:
        return
    what = (f"VARIATIONS makes {n:,} experiments ({' x '.join(map(str, sizes))} values)" if kind == "grid"
            else f"N_EXPERIMENTS is {n:,}")
    fix = "vary fewer values or seeds" if kind == "grid" else "lower them"
    raise _fail(path, f"{what} and SEEDS has {n_seeds:,} seeds: {n_runs:,} runs per storage dir, more than "
                      f"--max_experiments {max_runs:,}; {fix}, or raise the limit with --max_experiments {n_runs}")


def _name_list(path: Path, attr: str, value: object, kind: str) -> list[str]:
    if not isinstance(value, (list, tuple)) or not value:
        raise _fail(path, f"{attr} must be a non-empty list of names, got {value!r}")
    names = [check_name(kind, v) for v in value]
    if len(set(names)) != len(names):
        raise _fail(path, f"{attr} lists a name twice: {names}")
    return names


def _seed_list(path: Path, value: object) -> list[int]:
    if not isinstance(value, (list, tuple, range)) or not len(value):
        raise _fail(path, f"SEEDS must be a non-empty list of integers, got {value!r}")
    seeds = list(value)
    if not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
        raise _fail(path, f"SEEDS must hold integers only, got {seeds!r}")
    if len(set(seeds)) != len(seeds):
        raise _fail(path, f"SEEDS lists a seed twice: {seeds}")
    return seeds


def _default_config(path: Path, get_run_args: Callable) -> tuple[argparse.Namespace, argparse.ArgumentParser | None]:
    try:
        config, parser = capture_parser(get_run_args, "")
    except SystemExit as e:
        raise _fail(path, f"get_run_args('') exited (argparse error?) with code {e.code}") from None
    except Exception as e:
        raise _fail(path, f"get_run_args('') raised {type(e).__name__}: {e}") from None
    if isinstance(config, dict):
        config = argparse.Namespace(**config)
    if not isinstance(config, argparse.Namespace):
        raise _fail(path, f"get_run_args must return an argparse.Namespace, got {type(config).__name__}")
    missing = [k for k in RESERVED if not hasattr(config, k)]
    if missing:
        raise _fail(path, f"get_run_args('') must define {', '.join(RESERVED)}; missing: {', '.join(missing)}")
    _check_json(path, "get_run_args('')", vars(config), nan_ok=True)
    return config, parser


def _check_keys(path: Path, where: str, params: dict, config: argparse.Namespace) -> None:
    for key in params:
        if key in RESERVED:
            raise _fail(path, f"{where} must not set {key!r}: use {_RESERVED_HINT[key]} instead")
    unknown = [k for k in params if k not in vars(config)]
    if unknown:
        valid = sorted(k for k in vars(config) if k not in RESERVED)
        raise _fail(path, f"{where} sets {', '.join(map(repr, unknown))}, which get_run_args does not define; "
                          f"valid: {', '.join(valid)}")


_JSON_VALID = "use numbers, strings, booleans, None, lists or dicts"


def _check_json(path: Path, where: str, params: dict, *, nan_ok: bool = False) -> None:
    """Every value must be one a config.json can hold. Infinities pass (0.2 wrote and read them
    as ``Infinity``, and Python's json round-trips them exactly); NaN passes only where no
    experiment is told apart by it (``nan_ok``, the defaults): NaN equals nothing, so an
    experiment holding it could never be found again (--add_to_folder, retrains)."""
    try:
        json.dumps(params)
        if nan_ok or _not_json(params) is None:
            return
    except (TypeError, ValueError):
        pass
    for key, value in params.items():
        bad = _not_json(value, nan_ok=nan_ok)
        if bad is not None:
            why = ("NaN, which equals nothing: the experiment could not be found again; give None or a number"
                   if isinstance(bad, float) else f"which JSON cannot store: {_JSON_VALID}")
            raise _fail(path, f"{where} gives {key!r} the value {bad!r}, {why}")
    raise _fail(path, f"{where} holds a key that JSON cannot store: {_JSON_VALID}, under string keys")


def _not_json(value: object, *, nan_ok: bool = False) -> object | None:
    """The first value inside ``value`` that a config cannot hold (NaN too unless ``nan_ok``), None when none."""
    if value is None or isinstance(value, (str, bool, int)):
        return None
    if isinstance(value, float):
        return value if value != value and not nan_ok else None
    items = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else None
    if items is None:
        return value
    for item in items:
        bad = _not_json(item, nan_ok=nan_ok)
        if bad is not None:
            return bad
    return None


def _check_distinct(path: Path, key: str, values: list) -> None:
    """Two values with the same JSON text would make identical experiments."""
    seen: dict[str, int] = {}
    for position, value in enumerate(values, start=1):
        try:
            text = json.dumps(value, sort_keys=True)
        except TypeError:  # dict keys of mixed types cannot be sorted
            text = json.dumps(value)
        if text in seen:
            raise _fail(path, f"VARIATIONS[{key!r}] lists {value!r} twice (entries {seen[text]} and {position}), "
                              "which would make identical experiments: list each value once")
        seen[text] = position


def _variations(path: Path, variations: object, config: argparse.Namespace) -> dict[str, list]:
    if not isinstance(variations, dict):
        raise _fail(path, f"VARIATIONS must be a dict of lists, got {type(variations).__name__}")
    _check_keys(path, "VARIATIONS", variations, config)
    for key, values in variations.items():
        if not isinstance(values, (list, tuple)) or len(values) == 0:
            raise _fail(path, f"VARIATIONS[{key!r}] must be a non-empty list of values, got {values!r}")
    _check_json(path, "VARIATIONS", variations)
    for key, values in variations.items():
        _check_distinct(path, key, values)
    return {k: list(v) for k, v in variations.items()}
