"""The `eibm` command: `collect` and `report` go to the warm runner when it is there (eibm/runner.py), the
rest and every fallback to `eibm.cli` in this process. Standard library only until it knows which."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence

WARM_COMMANDS = ("collect", "report")


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if not _goes_to_runner(arguments):
        from eibm.cli import main as run_here

        return run_here(arguments)
    from eibm.prefect_server import prefect_home
    from eibm.runner import RunnerUnavailable, run_in_runner, start_runner

    home = prefect_home()
    try:
        return run_in_runner(home, arguments)
    except KeyboardInterrupt:  # Ctrl+C before the runner's child took it: the runner ends the child with us
        from eibm.interrupt import MESSAGES

        print(f"\n{MESSAGES[signal.SIGINT]}", file=sys.stderr)
        return 128 + signal.SIGINT
    except RunnerUnavailable:
        from eibm.cli import main as run_here

        code = run_here(arguments)
        start_runner(home)  # for the next command: it imports while the analyst reads this one's result
        return code


def _goes_to_runner(arguments: list[str]) -> bool:
    """collect and report, unless --debug (or its abbreviation, as argparse takes it: it lets Prefect's
    tracebacks through) or help; not with Prefect's temporary server (one per process, by design)."""
    debug = any(len(argument) >= len("--deb") and "--debug".startswith(argument) for argument in arguments)
    return (bool(arguments) and arguments[0] in WARM_COMMANDS and not debug
            and not {"-h", "--help"} & set(arguments)
            and os.environ.get("EIBM_PREFECT_SERVER") != "temporary")


if __name__ == "__main__":
    sys.exit(main())
