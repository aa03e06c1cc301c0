"""The shape of the package: one owner of the layout, thin scripts that import no script, no
import cycle, small modules, cheap ``--help``, and documentation links that resolve.

Modules are discovered from the package, never listed by hand, so a new module is checked too.
"""
from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

PACKAGE = REPO / "alfred"
LAYOUT_OWNER = PACKAGE / "protocol" / "layout.py"
HEAVY = ("numpy", "pandas", "matplotlib", "seaborn", "scipy", "wandb", "submitit", "tqdm")
MAX_LINES = 400


def modules() -> dict[str, Path]:
    """``alfred.x.y`` -> file, for every module of the package (example projects excluded)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(REPO).with_suffix("")
        if {"schedules_examples", "demo_project"} & set(rel.parts):
            continue
        name = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        found[name] = path
    return found


def script_modules() -> list[str]:
    """Modules run as ``python -m alfred.X``: those with a ``__main__`` guard."""
    return [name for name, path in modules().items()
            if re.search(r'^if __name__ == "__main__":', path.read_text(encoding="utf-8"), re.MULTILINE)]


def imported_modules(path: Path, package: str) -> set[str]:
    """Every alfred module ``path`` imports, at the top or inside functions."""
    found = set()
    known = modules()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("alfred"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                mod = f"{base}.{node.module}" if node.module else base
            else:
                mod = node.module or ""
            if not mod.startswith("alfred"):
                continue
            found.add(mod)
            for a in node.names:  # ``from alfred.protocol import flags`` imports a module
                if f"{mod}.{a.name}" in known:
                    found.add(f"{mod}.{a.name}")
    text = path.read_text(encoding="utf-8")
    if "lazy_exports(" in text or "\ndef __getattr__(" in text:  # names loaded on first use import their module
        found.update(re.findall(r'"(alfred(?:\.\w+)+)"', text))
    return {m for m in found if m in known}


def package_of(name: str, path: Path) -> str:
    return name if path.name == "__init__.py" else name.rsplit(".", 1)[0]


def test_discovery_finds_the_scripts_and_libraries():
    scripts = set(script_modules())
    assert {"alfred.prepare_schedule", "alfred.launch_schedule", "alfred.clean_interrupted", "alfred.benchmark",
            "alfred.create_retrainbest", "alfred.make_plot_arrays", "alfred.status", "alfred.cli"} <= scripts
    assert {"alfred.search.worker", "alfred.results.summary", "alfred.utils.directory_tree"} <= set(modules())
    assert not scripts & {"alfred.search.worker", "alfred.results.summary"}


# Thin scripts, no cycles ------------------------------------------------------------------

ALIASES = {"alfred.synch_wandb": "alfred.sync_wandb", "alfred.make_comparative_plots": "alfred.make_plot_arrays",
           "alfred.__main__": "alfred.cli"}  # other names of a script: they only import it


@pytest.mark.parametrize("script", script_modules())
def test_a_script_imports_no_other_script(script):
    path = modules()[script]
    others = set(script_modules()) - {script, ALIASES.get(script)}
    if script == "alfred.demo":  # the demo runs the README's steps: it calls the scripts on purpose
        others = set()
    assert not imported_modules(path, package_of(script, path)) & others


@pytest.mark.parametrize("script", script_modules())
def test_scripts_have_build_parser_and_main(script):
    tree = ast.parse(modules()[script].read_text(encoding="utf-8"))
    names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    names |= {a.asname or a.name for n in tree.body if isinstance(n, ast.ImportFrom) for a in n.names}
    assert "main" in names, script
    if script not in ("alfred.cli", "alfred.__main__"):  # the command table has no parser of its own
        assert "build_parser" in names, script


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of the import graph (module -> modules it imports), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                return stack[stack.index(dep):] + [dep]
            if dep not in state and (cycle := visit(dep)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for name in sorted(graph):
        if name not in state and (cycle := visit(name)):
            return cycle
    return None


def test_no_import_cycle():
    mods = modules()
    graph = {name: imported_modules(path, package_of(name, path)) - {name} for name, path in mods.items()}
    graph = {name: {d for d in deps if not name.startswith(d + ".")} for name, deps in graph.items()}  # parents
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_check_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None
    auto = imported_modules(modules()["alfred.results.auto_summary"], "alfred.results")
    assert "alfred.results.summary" in auto  # imports inside functions count
    misc = imported_modules(modules()["alfred.utils.misc"], "alfred.utils")
    assert "alfred.utils.misc_legacy" in misc  # names exported lazily count


@pytest.mark.parametrize("name", sorted(modules()))
def test_no_module_over_400_lines(name):
    n = len(modules()[name].read_text(encoding="utf-8").splitlines())
    assert n <= MAX_LINES, f"{name} has {n} lines: split it by what it does"


# One owner of the layout -------------------------------------------------------------------

def layout_names() -> tuple[set[str], set[str]]:
    """The names the layout owner spells: (whole names -- its string constants and the JSON/text
    files it names --, prefixes of the names its functions build, e.g. "bestConfig_exp", "seed")."""
    tree = ast.parse(LAYOUT_OWNER.read_text(encoding="utf-8"))
    whole, prefixes = set(), set()
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id.isupper() and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)):
            whole.add(node.value.value)
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
            head = node.values[0].value.lstrip(".")
            if re.fullmatch(r"[A-Za-z_]+", head or ""):
                prefixes.add(head)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and re.fullmatch(r"[\w]+\.(json|txt)",
                                                                                            node.value):
            whole.add(node.value)
    return whole, prefixes


def test_layout_names_are_found():
    whole, prefixes = layout_names()
    assert {"UNHATCHED", "CRASH.txt", "config.json", "prepare_info.json", "summary.json", "recorders",
            ".alfred_ids", "CLEAN_ONGOING"} <= whole
    assert {"bestConfig_exp", "variations", "list_searches_", "experiment", "seed"} <= prefixes


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def layout_literals(source: str, names: tuple[set[str], set[str]]) -> list[str]:
    """Where ``source`` spells a layout name itself: a string literal that is exactly a whole
    name, or an f-string that starts with a name or prefix and fills in the rest
    (``f"bestConfig_exp{n}.json"``, ``f"seed{s}"``). Names inside sentences (messages, help)
    are prose, not paths, and pass."""
    whole, prefixes = names
    tree = ast.parse(source)
    skip = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            skip.update(id(v) for v in node.values)
            first = node.values[0] if node.values else None
            if isinstance(first, ast.Constant) and len(node.values) > 1:
                head = first.value.lstrip(".")
                if head in whole or head in prefixes:
                    found.append(f"line {node.lineno}: f-string starting {first.value!r}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            if node.value in whole:
                found.append(f"line {node.lineno}: {node.value!r}")
    return found


def test_the_literal_check_catches_what_it_should():
    names = ({"config.json", "UNHATCHED"}, {"bestConfig_exp", "seed"})
    bad = 'p = d / "config.json"\nq = f"bestConfig_exp{n}.json"\nos.rename(a, "UNHATCHED")\nr = f"seed{s}"\n'
    assert len(layout_literals(bad, names)) == 4
    fine = '"""config.json"""\nprint("wrote config.json")\nraise E(f"no UNHATCHED seed in {d}")\nc["seed"] = 1\n'
    assert layout_literals(fine, names) == []


@pytest.mark.parametrize("name", [n for n, p in modules().items() if p != LAYOUT_OWNER])
def test_layout_names_are_spelled_only_by_their_owner(name):
    found = layout_literals(modules()[name].read_text(encoding="utf-8"), layout_names())
    assert not found, f"{name} spells layout names; ask alfred.protocol.layout instead: {found}"


# Cheap --help ------------------------------------------------------------------------------

@pytest.mark.parametrize("script", script_modules())
def test_help_imports_nothing_heavy(script):
    """``python -X importtime -m <script> --help``: no numpy, pandas, matplotlib, seaborn, scipy,
    wandb, submitit or tqdm is imported (the time it takes is measured by benchmarks/bench_help.py)."""
    module = "alfred" if script == "alfred.__main__" else script
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", module, "--help"], capture_output=True, text=True,
                         cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.lstrip().startswith("usage:"), out.stdout[:300]
    imported = {line.split("|")[-1].strip().split(".")[0] for line in out.stderr.splitlines()
                if line.startswith("import time:")}
    assert "alfred" in imported  # the import log was read
    assert not imported & set(HEAVY), sorted(imported & set(HEAVY))


# Documentation links -------------------------------------------------------------------------

DOC_REF = re.compile(r"(?<![\w/.-])((?:docs|benchmarks|tests|tools|schedules_examples|\.ci)/[\w./-]*\w)")
MD_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def doc_references() -> list[tuple[str, str]]:
    """(where, target) of every repo path named in the docs and in the package's text."""
    refs = []
    texts = [*REPO.glob("*.md"), *(REPO / "docs").rglob("*.md"), *PACKAGE.rglob("*.py"), *(REPO / ".ci").rglob("*")]
    for path in texts:
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        where = str(path.relative_to(REPO))
        for m in DOC_REF.finditer(text):
            refs.append((where, m.group(1)))
        if path.suffix == ".md":
            for m in MD_LINK.finditer(text):
                if not re.match(r"[a-z]+:", m.group(1)):  # not http:, mailto:, ...
                    refs.append((where, str((path.parent / m.group(1)).resolve().relative_to(REPO))))
    return refs


def test_doc_references_are_found():
    assert ("README.md", "docs/design.md") in doc_references() or any(
        t == "docs/design.md" for _, t in doc_references())


@pytest.mark.parametrize("where, target", sorted(set(doc_references())))
def test_every_doc_reference_resolves(where, target):
    if "<" in target or "*" in target:
        pytest.fail(f"{where}: {target} is a pattern, not a path")
    assert (REPO / target).exists(), f"{where} names {target}, which does not exist"


def test_design_doc_names_every_module():
    """docs/design.md's module map covers every module of the package."""
    design = (REPO / "docs" / "design.md").read_text(encoding="utf-8")
    missing = [name for name, path in modules().items() if path.name != "__init__.py"
               and f"{path.relative_to(REPO).as_posix()}" not in design and f"`{name.split('.')[-1]}" not in design]
    assert not missing, f"docs/design.md does not mention {missing}"
