"""Every line of the public interface of the released tags v0.2 and v0.3 (tests/compat/*.api: every
module, function, class, method signature and script flag), checked against this alfred.

- a module: importable;
- a function or method: exists, takes the tag's parameters in the tag's positional order with
  the same names, a default wherever the tag had one (the same value where the tag's was a
  literal, or a documented difference), more parameters only after them, with defaults; both
  call forms (all positional, all by keyword) bind;
- a flag: the script's ``build_parser()`` takes it, parses a value of the tag's type (each
  choice of the tag's choices), and its default is the tag's, resolved later (None), or a
  difference docs/migrating.md explains; ``--help`` (a real process per script) lists it, and
  a run of the script with it (tests/test_compat_v03.py) uses it.

``test_every_api_line_is_covered`` prints how many lines were checked.
"""
from __future__ import annotations

import argparse
import ast
import importlib
import inspect
import logging
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import REPO

API_DIR = REPO / "tests" / "compat"
API_FILES = sorted(API_DIR.glob("alfred-v*.api"))
MIGRATING = (REPO / "docs" / "migrating.md").read_text(encoding="utf-8")

# Flags whose default differs from the tag's on purpose: (module, flag) -> words docs/migrating.md says it with.
DIFFERENT_DEFAULTS = {
    ("alfred.prepare_schedule", "--resample"): "`prepare_schedule --resample` defaults to false",
    ("alfred.launch_schedule", "--check_hash"): "`launch_schedule --check_hash` defaults to false",
    ("alfred.benchmark", "--performance_aggregation"): "aggregation `last`",
}
# Parameters whose literal default differs from the tag's on purpose, likewise (none so far).
DIFFERENT_PARAM_DEFAULTS: dict[tuple[str, str, str], str] = {}
# A parameter v0.2 and v0.3 named differently: the v0.3 name is positional, v0.2's a keyword-only alias.
KEYWORD_ALIASES = {("alfred.utils.misc", "uniquify", "newfilepath"): "newfile_path"}
NOT_LITERAL = object()


@dataclass(frozen=True)
class ApiLine:
    file: str  # "v0.2"
    lineno: int
    module: str
    kind: str  # "module", "def", "class", "flag"
    name: str  # function or "Class.method", class name, or the flag
    text: str  # the line, stripped

    def __str__(self) -> str:
        return f"{self.file}:{self.lineno} {self.module} {self.name}"


def parse_api(path: Path) -> list[ApiLine]:
    lines, module, cls = [], None, None
    tag = re.search(r"v\d+\.\d+", path.name).group(0)
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        text = raw.strip()
        if not text or text.startswith("# "):
            continue
        if text.startswith("## "):
            module, cls = text[3:].strip(), None
            lines.append(ApiLine(tag, n, module, "module", module, text))
        elif text.startswith("class "):
            cls = text.split()[1]
            lines.append(ApiLine(tag, n, module, "class", cls, text))
        elif text.startswith("def "):
            name = re.match(r"def (\w+)\(", text).group(1)
            method = raw.startswith("    ") and cls is not None
            lines.append(ApiLine(tag, n, module, "def", f"{cls}.{name}" if method else name, text))
            if not method:
                cls = None
        elif text.startswith("flag "):
            lines.append(ApiLine(tag, n, module, "flag", re.match(r"flag '([^']+)'", text).group(1), text))
        else:
            raise AssertionError(f"{path}:{n}: unknown line {text!r}")
    return lines


ALL_LINES = [line for path in API_FILES for line in parse_api(path)]


# ----------------------------------------------------------------------------- functions and methods

def tag_parameters(text: str) -> list[tuple[str, object]]:
    """(name, default) of a ``def`` line: inspect.Parameter.empty for none, NOT_LITERAL for an expression."""
    tree = ast.parse(text.split(":", 1)[0].replace("def ", "def ", 1) + ": pass")
    args = tree.body[0].args
    defaults = [inspect.Parameter.empty] * (len(args.args) - len(args.defaults)) + list(args.defaults)
    out = []
    for arg, default in zip(args.args, defaults):
        if default is not inspect.Parameter.empty:
            try:
                default = ast.literal_eval(default)
            except ValueError:
                default = NOT_LITERAL
        out.append((arg.arg, default))
    return out


def resolve(line: ApiLine):
    module = importlib.import_module(line.module)
    if "." not in line.name:
        return module, getattr(module, line.name)
    cls_name, method = line.name.split(".")
    cls = getattr(module, cls_name)
    return cls, inspect.getattr_static(cls, method) if method != "__init__" else cls.__init__


PROPERTIES = {"TrainingIterator.itr", "TrainingIterator.heartbeat", "TrainingIterator.elapsed"}  # @property in the tag


def check_def(line: ApiLine) -> None:
    if line.name in PROPERTIES:
        from alfred.utils.recorder import TrainingIterator

        it = TrainingIterator(3)
        next(iter(it))
        assert hasattr(it, line.name.split(".")[1]), line
        return
    owner, obj = resolve(line)
    if isinstance(obj, (staticmethod, classmethod)):
        obj = getattr(owner, line.name.split(".")[1])
    wanted = tag_parameters(line.text)
    if wanted and wanted[0][0] in ("self", "cls"):
        wanted = wanted[1:]
    sig = inspect.signature(obj)
    params = list(sig.parameters.values())
    if params and params[0].name in ("self", "cls") and not inspect.ismethod(obj):
        params = params[1:]
    if line.name == "DirectoryTree.__init__":  # one constructor, two call forms: checked by a call below
        check_directory_tree_call(wanted)
        return
    positional = [p for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]
    keyword_only = {p.name for p in params if p.kind is p.KEYWORD_ONLY}
    wanted_names = [n if (line.module, line.name, n) not in KEYWORD_ALIASES or n not in keyword_only
                    else KEYWORD_ALIASES[(line.module, line.name, n)] for n, _ in wanted]
    assert [p.name for p in positional[:len(wanted)]] == wanted_names, \
        f"{line}: positional parameters {[p.name for p in positional]}, tag: {[n for n, _ in wanted]}"
    for p in params[len(wanted):]:
        assert p.kind in (p.KEYWORD_ONLY, p.VAR_KEYWORD, p.VAR_POSITIONAL) or p.default is not p.empty, \
            f"{line}: extra parameter {p.name} without a default"
    for p, (name, default) in zip(positional, wanted):
        if default is inspect.Parameter.empty:
            continue
        assert p.default is not p.empty, f"{line}: {name} has no default (tag: {default!r})"
        if default is not NOT_LITERAL and p.default != default and p.default is not None:
            key = (line.module, line.name, name)
            assert key in DIFFERENT_PARAM_DEFAULTS and DIFFERENT_PARAM_DEFAULTS[key] in MIGRATING, \
                f"{line}: {name}={p.default!r}, tag {default!r}, and docs/migrating.md does not say why"
    sentinels = [object() for _ in wanted]
    bindable = sig.replace(parameters=params)
    bindable.bind(*sentinels)  # the tag's positional call form
    bindable.bind(**{n: s for (n, _), s in zip(wanted, sentinels)})  # and by keyword (v0.2's alias names too)


def check_directory_tree_call(wanted: list[tuple[str, object]]) -> None:
    from alfred.utils.directory_tree import DirectoryTree

    values = {"alg_name": "ppo", "task_name": "cartpole", "desc": "grid_lr", "seed": 3, "experiment_num": 2,
              "git_hashes": "abc1234", "id": "Ab1", "root": "storage_root"}
    assert [n for n, _ in wanted] == list(values)
    by_position = DirectoryTree(*values.values())
    by_keyword = DirectoryTree(**values)
    for tree in (by_position, by_keyword):
        assert tree.seed_dir == Path("storage_root/Ab1_abc1234_ppo_cartpole_grid_lr/experiment2/seed3")


# ----------------------------------------------------------------------------- flags

def parser_of(module: str) -> argparse.ArgumentParser:
    return importlib.import_module(module).build_parser()


REQUIRED = {"alfred.prepare_schedule": ["--schedule_file", "s.py"]}
SAMPLES = {"plot_definition_parser": ["episode,eval_return,None,None,0,350"], "my_type_func": ["lr=0.5,float"],
           "parse_log_level": ["debug"], "parse_bool": ["True", "False"], "int": ["3"], "float": ["2.5"]}


def flag_values(spec: str) -> list[str]:
    choices = re.search(r"choices=(\[[^\]]*\])", spec)
    if choices:
        return ast.literal_eval(choices.group(1))
    kind = re.search(r"type=(\w+)", spec)
    return SAMPLES.get(kind.group(1) if kind else "str", ["some_name"])


def tag_default(spec: str) -> object:
    match = re.search(r"default=(.+?)(?:, (?:type|choices|action|nargs)=|$)", spec)
    if not match:
        return None
    text = match.group(1)
    if text == "logging.INFO":
        return logging.INFO
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return NOT_LITERAL


def check_flag(line: ApiLine) -> None:
    parser = parser_of(line.module)
    action = next((a for a in parser._actions if line.name in a.option_strings), None)
    assert action is not None, f"{line}: {line.module} does not take {line.name}"
    spec = line.text
    multiple = "nargs='+'" in spec
    for value in flag_values(spec):
        words = [value, value] if multiple else [value]
        try:
            parsed = getattr(parser.parse_args([*REQUIRED.get(line.module, []), line.name, *words]), action.dest)
        except SystemExit:
            raise AssertionError(f"{line}: {line.name} {' '.join(words)} refused") from None
        if "parse_bool" in spec:
            assert parsed is (value == "True"), f"{line}: {value} parsed as {parsed!r}"
        elif "type=int" in spec:
            assert parsed == int(value), line
        elif "type=float" in spec:
            assert parsed == float(value), line
        elif "type=str" in spec and "choices" not in spec:
            assert str(value) in str(parsed), f"{line}: {value} parsed as {parsed!r}"
    default = tag_default(spec)
    if default is NOT_LITERAL or action.default is None or action.default == default:
        return
    if default is None and action.default == []:  # action='append' without a default: None means nothing given
        return
    if isinstance(default, str) and str(action.default) == default:  # a Path default
        return
    key = (line.module, line.name)
    assert key in DIFFERENT_DEFAULTS and DIFFERENT_DEFAULTS[key] in MIGRATING, \
        f"{line}: default {action.default!r}, tag {default!r}, and docs/migrating.md does not say why"


def check_line(line: ApiLine) -> None:
    if line.kind == "module":
        importlib.import_module(line.module)
    elif line.kind == "class":
        assert inspect.isclass(getattr(importlib.import_module(line.module), line.name)), line
    elif line.kind == "def":
        check_def(line)
    else:
        check_flag(line)


@pytest.mark.parametrize("line", ALL_LINES, ids=str)
def test_api_line(line: ApiLine) -> None:
    check_line(line)


def test_every_api_line_is_covered(capsys) -> None:
    counts = {}
    for path in API_FILES:
        total = sum(1 for raw in path.read_text(encoding="utf-8").splitlines()
                    if raw.strip() and not raw.strip().startswith("# "))
        checked = 0
        for line in parse_api(path):
            check_line(line)
            checked += 1
        counts[path.name] = (checked, total)
    assert [p.name for p in API_FILES] == ["alfred-v0.2.api", "alfred-v0.3.api"]
    assert all(checked == total for checked, total in counts.values()), counts
    with capsys.disabled():
        print("\ncompat .api lines covered: " + ", ".join(f"{name} {c} of {t}" for name, (c, t) in counts.items()))


SCRIPTS = sorted({line.module for line in ALL_LINES if line.kind == "flag"} | {
    line.module for line in ALL_LINES if line.kind == "module" and not line.module.startswith("alfred.utils")})


@pytest.mark.parametrize("module", SCRIPTS)
def test_help_lists_the_tags_flags(module: str) -> None:
    out = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True, timeout=60,
                         cwd=REPO)
    assert out.returncode == 0, out.stderr
    for line in ALL_LINES:
        if line.module == module and line.kind == "flag":
            assert re.search(rf"{re.escape(line.name)}\b", out.stdout), f"{line}: not in --help"
