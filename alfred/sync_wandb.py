"""Upload the W&B offline runs of some storage dirs with ``wandb sync``.

Runs started with ``init_wandb_run(..., offline=True)`` (alfred.utils.wandb_run) live in
``<seed_dir>/wandb/offline-run-*``. This script finds every such run folder under the
selected storage dirs, skips those W&B already marked as synced (the empty file
``run-<id>.wandb.synced`` next to ``run-<id>.wandb``, written by ``wandb sync`` when it
finishes a run), lists the rest, asks once, then runs the real ``wandb sync <run_dir>`` for
each, several at once. One line per run: OK or FAILED (with wandb's last output line).

Exit code 0 when every run synced (or there was nothing to sync), 1 when a sync failed or
the answer was no, 2 for bad input.

A run counts as synced only if W&B wrote its marker: ``wandb sync`` (0.31) exits with code 0
even when it could not reach the server. Alfred never deletes or edits a run folder; ``wandb
sync`` itself adds ``run-<id>.wandb.syncstate`` (its resume bookkeeping) and, on success,
the ``.synced`` marker. It runs with the run's seed folder (the folder holding ``wandb/``) as
working directory, so its own logs (``wandb/debug-cli.<user>.log``,
``wandb/logs/debug-sync.*.log``) land next to the run, unless WANDB_DIR says otherwise.

To make a sync fail fast when the server is unreachable, lower W&B's retries, e.g.
``WANDB__GRAPHQL_RETRY_MAX=1 WANDB__GRAPHQL_RETRY_WAIT_MAX_SECONDS=1`` (whole seconds).
"""
from __future__ import annotations

import argparse
import sys
import time

from alfred.utils.config import add_bool_flag, positive_float, positive_int
from alfred.utils.directory_tree import DirectoryTree
from alfred.utils.misc import AlfredError, ask_yes_no, call_with_flags, cli_main
from alfred.utils.selection import add_selection_args
from alfred.utils.wandb_sync import find_offline_runs, is_synced, select_dirs, sync_runs


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m alfred.sync_wandb", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_selection_args(parser)
    parser.epilog = ("With neither --from_file nor --storage_name: every storage dir of the root dir "
                     f"(--root_dir, default {DirectoryTree.default_root}).")
    parser.add_argument("--tag", default=None,
                        help="only storage dirs whose name contains this substring")
    parser.add_argument("--env_activation", default=None,
                        help="shell command that activates the environment holding wandb, run before each "
                             "sync, e.g. 'source venv/bin/activate' (default: use this Python's wandb)")
    add_bool_flag(parser, "--ask_for_validation", default=True,
                  help="list the runs and ask y/n before syncing (default: true)")
    add_bool_flag(parser, "--yes", "-y", help="same as --ask_for_validation false")
    parser.add_argument("--n_jobs", type=positive_int, default=4,
                        help="number of wandb sync processes at once (default: 4)")
    parser.add_argument("--timeout_s", type=positive_float, default=600.0,
                        help="kill a sync still running after this many seconds (default: 600)")
    add_bool_flag(parser, "--dry_run", help="list the runs that would be synced and exit")
    parser.add_argument("--project", default=None, help="W&B project to upload to (default: each run's own)")
    parser.add_argument("--entity", default=None,
                        help="W&B entity (user or team) to upload to (default: each run's own)")
    return parser


def run(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    storage_dirs = select_dirs(args.from_file, args.storage_name, args.root_dir, args.tag)
    if not storage_dirs:
        print("no storage dir selected" + (f" (none contains {args.tag!r})" if args.tag else "") + ": nothing to sync")
        return 0
    try:
        runs = find_offline_runs(storage_dirs)
    except OSError as e:
        raise AlfredError(f"could not list the runs: {e}") from None
    to_sync = [r for r in runs if not is_synced(r)]
    n_synced = len(runs) - len(to_sync)
    print(f"{len(storage_dirs)} storage dir(s): {len(runs)} offline run(s), {n_synced} already synced, "
          f"{len(to_sync)} to sync")
    if not to_sync:
        return 0
    for r in to_sync:
        print(f"  {r}")
    if args.dry_run:
        print("dry run: nothing was synced")
        return 0
    if not args.env_activation:
        import importlib.util

        if importlib.util.find_spec("wandb") is None:
            raise AlfredError(f"wandb is not installed in {sys.executable}; install it (pip install wandb) "
                              "or pass --env_activation")
    if args.ask_for_validation and not args.yes and not ask_yes_no(f"Sync these {len(to_sync)} run(s)?"):
        print("aborted: nothing was synced")
        return 1
    start = time.time()
    options = tuple(w for flag in ("project", "entity") if getattr(args, flag)
                    for w in (f"--{flag}", getattr(args, flag)))
    results = sync_runs(to_sync, n_jobs=args.n_jobs, env_activation=args.env_activation, timeout_s=args.timeout_s,
                        options=options)
    for r in results:
        if r.ok:
            print(f"OK      {r.run_dir} ({r.duration_s:.1f} s)")
        else:
            print(f"FAILED  {r.run_dir}: {r.reason}" + (f": {r.last_line}" if r.last_line else ""))
    n_failed = sum(not r.ok for r in results)
    print(f"done in {time.time() - start:.1f} s: {len(results) - n_failed} synced, {n_failed} failed")
    return 1 if n_failed else 0


def main(argv: list[str] | None = None) -> int:
    return cli_main(run, argv)


def sync_wandb(root_dir=None, tag=None, ask_for_validation=True, project=None, entity=None, logger=None,
               **flags) -> int:
    """Python entry point, 0.2's call form ``sync_wandb(root_dir, tag, ask_for_validation, project, entity,
    logger)``; other flags as keywords (``from_file=``, ``n_jobs=``). Returns the exit code, raises
    AlfredError on bad input."""
    return call_with_flags(run, build_parser(), {"root_dir": root_dir, "tag": tag or None,
                                                  "ask_for_validation": ask_for_validation, "project": project,
                                                  "entity": entity, "logger": logger, **flags})


# 0.2 names ----------------------------------------------------------------------------------

def get_synch_wandb_args() -> argparse.Namespace:
    """0.2: the command line's flags (``sys.argv``), parsed."""
    return build_parser().parse_args()


if __name__ == "__main__":
    sys.exit(main())
