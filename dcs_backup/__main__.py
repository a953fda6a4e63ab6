"""``python -m dcs_backup invoke EVENT_FILE``: the local runner, kept in the repository's dev-only devkit/.

This module ships in the zip, so it imports nothing that is not there until it is run.
"""

from __future__ import annotations

import sys

EXIT_USAGE = 2


def main() -> int:
    try:
        from devkit.runner import main as run
    except ModuleNotFoundError as missing:
        if missing.name != "devkit":
            raise
        print("the local runner lives in devkit/: run it from the repository", file=sys.stderr)
        return EXIT_USAGE
    return run(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
