"""The ``alfred`` command: ``alfred <subcommand> [args]`` runs ``python -m alfred.<module> [args]``.

The table below is static so that ``alfred --help`` imports no script (and so neither
numpy, pandas nor matplotlib): a subcommand's module is imported only when it runs.
"""
from __future__ import annotations

import difflib
import importlib
import importlib.util
import sys

__all__ = ["COMMANDS", "main", "usage"]

# subcommand: (module, shell alias, one-line description)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "prep": ("alfred.prepare_schedule", "alprep", "create the storage dirs of a search from a schedule file"),
    "launch": ("alfred.launch_schedule", "allaunch", "run the UNHATCHED seeds of some storage dirs with N workers"),
    "clean": ("alfred.clean_interrupted", "alclean", "send interrupted (and crashed) seeds back to UNHATCHED"),
    "status": ("alfred.status", "alstatus", "seeds per state, progress, elapsed time, ETA, crashes"),
    "copy": ("alfred.copy_config", "alcopy", "copy a search to another task, every seed UNHATCHED"),
    "plot": ("alfred.make_plot_arrays", "alplot", "draw every seed's learning curves, one panel per experiment"),
    "retrain": ("alfred.create_retrainbest", "alretrain", "retrain the best configuration of searches with more seeds"),
    "bench": ("alfred.benchmark", "albench", "summarise searches and compare them from the seeds' recorders"),
    "sync": ("alfred.sync_wandb", "alsync", "upload the W&B offline runs of some storage dirs"),
    "report": ("alfred.report", "alreport", "write one self-contained HTML report of searches (no server)"),
    "unique": ("alfred.update_config_unique", "alunique", "make each config_unique.json agree with its config.json"),
    "anonymize": ("alfred.anonymize_config", "alanon", "remove experiment_name from every config.json"),
}


def usage() -> str:
    width = max(len(s) for s in COMMANDS)
    lines = ["usage: alfred <subcommand> [args...]     (alfred <subcommand> --help for its options)",
             "       python -m alfred <subcommand> [args...]", "", "subcommands:"]
    for sub, (module, _, description) in COMMANDS.items():
        lines.append(f"  {sub:<{width}}  {description}  [{module}]")
    lines += ["", "other options:", "  --aliases  print shell aliases (alprep, allaunch, ...) to add to ~/.bashrc",
              "  --version  print alfred's version"]
    return "\n".join(lines)


def aliases() -> str:
    return "\n".join(f"alias {alias}='python -m {module}'" for module, alias, _ in COMMANDS.values())


def main(argv: list[str] | None = None) -> int:
    try:
        code = _main(argv)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        from alfred.utils.misc import quiet_broken_pipe

        return quiet_broken_pipe()


def _main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    sub, args = argv[0], argv[1:]
    if sub == "--version":
        from alfred import __version__

        print(f"alfred {__version__}")
        return 0
    if sub == "--aliases":
        print(aliases())
        return 0
    if sub not in COMMANDS:
        close = difflib.get_close_matches(sub, list(COMMANDS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        print(f"alfred: unknown subcommand {sub!r}{hint}; valid: {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    module_name = COMMANDS[sub][0]
    try:
        found = importlib.util.find_spec(module_name) is not None
    except ImportError:
        found = False
    if not found:
        print(f"alfred {sub}: {module_name} is not available in this installation of alfred", file=sys.stderr)
        return 2
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        print(f"alfred {sub}: importing {module_name} failed: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    if not callable(getattr(module, "main", None)):
        print(f"alfred {sub}: {module_name} has no main(argv)", file=sys.stderr)
        return 2
    code = module.main(args)
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
