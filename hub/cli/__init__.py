"""The `hub` command: a thin shell over the library. Each subcommand lives in its own module
and registers itself here; errors reach the person as a code and a sentence, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from hub.cli import demo_command, envelope_commands, serve_command
from hub.errors import HubError

if TYPE_CHECKING:
    from collections.abc import Sequence

# Exit statuses, stable for scripts.
EXIT_OK = 0
EXIT_REFUSED = 1  # the input was checked and refused (bad signature, wrong key, …)
EXIT_USAGE = 2  # argparse's own status for a wrong command line
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hub",
        description="Säkert utbyte av förfrågningar mellan kommuner: nycklar, kryptering, hubb.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="KOMMANDO")
    envelope_commands.register(commands)
    demo_command.register(commands)
    serve_command.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.run(args)
    except HubError as exc:
        print(f"fel: {exc.code}: {exc.message}", file=sys.stderr)
        return EXIT_REFUSED
    except FileNotFoundError as exc:
        print(f"fel: filen finns inte: {exc.filename}", file=sys.stderr)
        return EXIT_REFUSED
    except FileExistsError as exc:
        print(f"fel: finns redan, skrivs inte över: {exc.filename or exc}", file=sys.stderr)
        return EXIT_REFUSED
    except (OSError, ValueError) as exc:
        print(f"fel: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except KeyboardInterrupt:
        print("avbrutet", file=sys.stderr)
        return EXIT_INTERRUPTED
    return status


if __name__ == "__main__":
    sys.exit(main())
