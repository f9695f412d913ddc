"""The `hub` command: a thin shell over the library. Each subcommand lives in its own module
and registers itself here; errors reach the person as a code and a sentence, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from hub.cli import (
    admin_command,
    demo_command,
    envelope_commands,
    followup_command,
    inbox_command,
    ops_command,
    recovery_command,
    report_command,
    serve_command,
    witness_command,
)
from hub.cli.exits import EXIT_INTERRUPTED, EXIT_REFUSED
from hub.errors import MESSAGES, HubError

if TYPE_CHECKING:
    from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hub",
        description="Säkert utbyte av förfrågningar mellan kommuner: nycklar, kryptering, hubb.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="KOMMANDO")
    envelope_commands.register(commands)
    demo_command.register(commands)
    serve_command.register(commands)
    ops_command.register(commands)
    admin_command.register(commands)
    inbox_command.register(commands)
    recovery_command.register(commands)
    followup_command.register(commands)
    report_command.register(commands)
    witness_command.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:  # noqa: PLR0911 - one per error family
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
    except Exception as exc:
        refusal = _hub_refusal(exc)
        if refusal is None:
            raise
        print(refusal, file=sys.stderr)
        return EXIT_REFUSED
    return status


def _hub_refusal(exc: Exception) -> str | None:
    """The hub's refusal (hub.client.api.RemoteError) or a failed connection as a sentence;
    None for anything else. Imported only if a command used the client: aiohttp is slow to load.
    """
    if "hub.client.api" not in sys.modules:
        return None
    import aiohttp  # noqa: PLC0415

    from hub.client.api import RemoteError  # noqa: PLC0415

    if isinstance(exc, RemoteError):
        message = MESSAGES.get(exc.code, f"Hubben vägrade (HTTP {exc.status}).")
        return f"fel: {exc.code}: {message}"
    if isinstance(exc, aiohttp.ClientError):
        return f"fel: kunde inte tala med hubben ({type(exc).__name__})"
    return None


if __name__ == "__main__":
    sys.exit(main())
