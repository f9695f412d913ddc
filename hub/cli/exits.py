"""The `hub` command's exit statuses, stable for scripts (cron, monitoring)."""

from __future__ import annotations

from typing import Final

EXIT_OK: Final = 0
EXIT_REFUSED: Final = 1  # the input was checked and refused (bad signature, wrong key, …)
EXIT_USAGE: Final = 2  # argparse's own status for a wrong command line
EXIT_ATTENTION: Final = 3  # it worked and found what needs a person (`hub admin notices`)
EXIT_INTERRUPTED: Final = 130
