"""Remove ``experiment_name`` from every seed's config.json (0.2's anonymize_config).

Projects of 0.2 kept a run's W&B or experiment name in its config; before sharing a storage
dir (e.g. with reviewers) this takes it out. Each file is rewritten atomically.
"""
from __future__ import annotations

import argparse
import sys

from alfred.utils.misc import call_with_flags, cli_main
from alfred.utils.selection import add_selection_args, select_storage_dirs


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m alfred.anonymize_config", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_selection_args(parser)
    return parser


def run(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from alfred.search.config_files import anonymize_configs

    for storage_dir in select_storage_dirs(args.from_file, args.storage_name, args.root_dir):
        edits = anonymize_configs(storage_dir)
        for path in edits.changed:
            print(f"removed experiment_name from {path}")
        print(f"{storage_dir.name}: {len(edits.changed)} config.json anonymized, {edits.unchanged} had no "
              "experiment_name")
    return 0


def main(argv: list[str] | None = None) -> int:
    return cli_main(run, argv)


def get_args() -> argparse.Namespace:
    """0.2: the command line's flags (``sys.argv``), parsed."""
    return build_parser().parse_args()


def anonymize_config(from_file=None, storage_name=None, root_dir=None) -> int:
    """Python entry point: the flags as arguments; returns the exit code."""
    return call_with_flags(run, build_parser(), {"from_file": from_file, "storage_name": storage_name,
                                                  "root_dir": root_dir})


if __name__ == "__main__":
    sys.exit(main())
