"""``python -m alfred``: the ``alfred`` command (lists the subcommands; ``python -m alfred status ...`` runs one)."""
import sys

from alfred.cli import main

if __name__ == "__main__":
    sys.exit(main())
