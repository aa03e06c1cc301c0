"""Checks of a schedule against its project's ``get_run_args``: the argparse types and choices.

alfred gives ``main`` the values a schedule writes (through config.json), not what argparse
would make of them on a command line: ``learning_rate: ["0.1"]`` reaches main as the string
"0.1", a task missing from ``choices`` reaches it unchecked, and every seed crashes. So the
parser that ``get_run_args('')`` uses is captured (by watching ``parse_known_args``, which
``parse_args`` calls) and every value is checked against its option before anything is
written: one line names the value, the option and what is valid.

Checked: ``choices`` (each element of a list for ``nargs`` options), and the builtin types
(``int``, ``float``, ``str``; an int is a valid float) and booleans (``store_true``,
``store_false``, ``type=bool``). Values of a custom ``type=`` function are checked only when
they are strings, the one case where what argparse makes of them is known (``parse_bool``
turns ``"yes"`` into True: write True). ``None`` passes (a default left unset).
"""
from __future__ import annotations

import argparse
import ast
from pathlib import Path
from typing import Any, Callable

from alfred.errors import AlfredError

__all__ = ["capture_parser", "check_against_parser", "check_duplicate_keys"]


def capture_parser(get_run_args: Callable, arg: str = "") -> tuple[Any, argparse.ArgumentParser | None]:
    """``get_run_args(arg)`` and the argparse parser it parsed with (None when it used none)."""
    seen: list[argparse.ArgumentParser] = []
    original = argparse.ArgumentParser.parse_known_args

    def spy(self, *args, **kwargs):
        seen.append(self)
        return original(self, *args, **kwargs)

    argparse.ArgumentParser.parse_known_args = spy
    try:
        config = get_run_args(arg)
    finally:
        argparse.ArgumentParser.parse_known_args = original
    if not seen:
        return config, None
    keys = set(vars(config)) if isinstance(config, argparse.Namespace) else set(config or ())
    return config, max(seen, key=lambda p: len(keys & {a.dest for a in p._actions}))


def _option(action: argparse.Action) -> str:
    return next((o for o in action.option_strings if o.startswith("--")), action.dest)


def _problem(action: argparse.Action, value: Any) -> str | None:
    """Why ``value`` is not what argparse would give main for this option, or None."""
    if value is None:
        return None
    many = action.nargs not in (None, "?", 0) and isinstance(value, (list, tuple))
    for v in (value if many else [value]):
        if action.choices is not None and v not in action.choices:
            return f"{v!r} is not one of its choices ({', '.join(map(repr, action.choices))})"
        typ = action.type
        if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)) or typ is bool:
            if not isinstance(v, bool):
                return f"{v!r} is a {type(v).__name__}, not True or False"
        elif typ is int:
            if not isinstance(v, int) or isinstance(v, bool):
                fix = f": write {int(v)}" if isinstance(v, float) and v.is_integer() else ""
                return f"{v!r} is a {type(v).__name__}, but it is parsed with type=int{fix}"
        elif typ is float:
            if not isinstance(v, (int, float)) or isinstance(v, bool):
                return f"{v!r} is a {type(v).__name__}, but it is parsed with type=float{_unquote(v, float)}"
        elif typ is str:
            if not isinstance(v, str):
                return f"{v!r} is a {type(v).__name__}, but it is parsed with type=str: write {str(v)!r}"
        elif callable(typ) and isinstance(v, str):
            try:
                parsed = typ(v)
            except Exception as e:  # what argparse would refuse
                return f"{v!r} is refused by its type={getattr(typ, '__name__', typ)!s} ({type(e).__name__}: {e})"
            if parsed != v or type(parsed) is not type(v):
                return (f"{v!r} is a string; {getattr(typ, '__name__', 'its type')}() turns it into {parsed!r} on a "
                        f"command line, and main would get the string: write {parsed!r}")
    return None


def _unquote(v: Any, typ: type) -> str:
    try:
        return f": write {typ(v)!r}" if isinstance(v, str) else ""
    except ValueError:
        return ""


def check_against_parser(path: Path, where: str, params: dict, parser: argparse.ArgumentParser | None) -> None:
    """AlfredError (one line) for the first value of ``params`` that its option's type or
    choices refuse; ``where`` says where the values come from (``VARIATIONS``, ``TASK_NAMES``)."""
    if parser is None:
        return
    actions = {a.dest: a for a in parser._actions if a.option_strings}
    for key, value in params.items():
        action = actions.get(key)
        problem = _problem(action, value) if action is not None else None
        if problem:
            raise AlfredError(f"schedule {path}: {where} gives {key!r} {problem} (get_run_args' {_option(action)}); "
                              "main would get it as written and every seed would crash")


def check_duplicate_keys(path: Path, tree: ast.Module) -> None:
    """A key written twice in VARIATIONS would silently keep only its last list."""
    seen_subscripts: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "VARIATIONS" for t in node.targets):
            if isinstance(node.value, ast.Dict):
                keys = [k.value for k in node.value.keys if isinstance(k, ast.Constant)]
                dupes = sorted({k for k in keys if keys.count(k) > 1}, key=str)
                if dupes:
                    raise AlfredError(f"schedule {path}: VARIATIONS defines {', '.join(map(repr, dupes))} more than "
                                      f"once (line {node.lineno}); give each hyperparameter one list")
        if isinstance(node, ast.Assign):
            for t in node.targets:
                if (isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name) and t.value.id == "VARIATIONS"
                        and isinstance(t.slice, ast.Constant)):
                    if t.slice.value in seen_subscripts:
                        raise AlfredError(f"schedule {path}: VARIATIONS[{t.slice.value!r}] is set more than once "
                                          f"(line {t.lineno})")
                    seen_subscripts.add(t.slice.value)
