"""setup.py states the true minimum Python version, as vermin (from PyPI) finds it in alfred/."""
from __future__ import annotations

import ast
import importlib.util
import re
import subprocess
import sys

import pytest
from conftest import REPO


def _python_requires() -> str:
    """The python_requires string of setup.py's setup() call, read without running setup.py."""
    tree = ast.parse((REPO / "setup.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "setup":
            for keyword in node.keywords:
                if keyword.arg == "python_requires":
                    return ast.literal_eval(keyword.value)
    raise AssertionError("setup.py's setup() has no python_requires")


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


@pytest.mark.skipif(importlib.util.find_spec("vermin") is None,
                    reason="vermin is not installed (pip install vermin, or the 'test' extra of setup.py)")
def test_python_requires_is_the_minimum_vermin_finds():
    # vermin's parsable format ends with ':::<py2 minimum>:<py3 minimum>:'; '!2' means no Python 2.
    result = subprocess.run([sys.executable, "-c", "import sys, vermin; sys.exit(vermin.main())",
                             "--no-tips", "--format", "parsable", str(REPO / "alfred")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    last = result.stdout.strip().splitlines()[-1]
    m = re.fullmatch(r":::[^:]*:(\d+(?:\.\d+)*):", last)
    assert m, f"unexpected last line of vermin's output: {last!r}"
    minimum = _version(m.group(1))

    requires = _python_requires()
    m = re.fullmatch(r">=\s*(\d+(?:\.\d+)*)", requires)
    assert m, f"python_requires {requires!r} is not of the form '>=X.Y'"
    assert _version(m.group(1)) == minimum, (
        f"setup.py says python_requires {requires!r}, but the code in alfred/ needs Python "
        f">={'.'.join(map(str, minimum))} (run 'vermin -vv alfred' to see why)")
