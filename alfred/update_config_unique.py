"""Make every seed's config_unique.json agree with its config.json (0.2's update_config_unique).

config_unique.json holds the hyperparameters that tell a search's experiments apart; labels,
plots and summaries read it. After a config.json was edited by hand, this sets each value of
config_unique.json to the config's. Keys config.json lacks are kept and listed.
"""
from __future__ import annotations

import argparse
import sys

from alfred.utils.misc import call_with_flags, cli_main
from alfred.utils.selection import add_selection_args, select_storage_dirs


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m alfred.update_config_unique", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_selection_args(parser)
    return parser


def run(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from alfred.search.config_files import update_config_unique

    for storage_dir in select_storage_dirs(args.from_file, args.storage_name, args.root_dir):
        edits = update_config_unique(storage_dir)
        for path in edits.changed:
            print(f"updated {path}")
        for note in edits.notes:
            print(note)
        print(f"{storage_dir.name}: {len(edits.changed)} config_unique.json updated, {edits.unchanged} already agreed")
    return 0


def main(argv: list[str] | None = None) -> int:
    return cli_main(run, argv)


def get_args() -> argparse.Namespace:
    """0.2: the command line's flags (``sys.argv``), parsed."""
    return build_parser().parse_args()


def update_config_unique(from_file=None, storage_name=None, root_dir=None) -> int:
    """Python entry point: the flags as arguments; returns the exit code."""
    return call_with_flags(run, build_parser(), {"from_file": from_file, "storage_name": storage_name,
                                                  "root_dir": root_dir})


if __name__ == "__main__":
    sys.exit(main())
