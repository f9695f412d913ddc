"""The outcome report of a closed case we sent (docs/statistics.md): categories only, filed
with the hub in clear, and kept here as filed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hub.inbox.cache_retention import OUTCOME_REPORT_KEY
from hub.report.outcome import OutcomeReport

if TYPE_CHECKING:
    from hub.inbox.cache import InboxCache
    from hub.inbox.session import Session

_REPORT_KEY = OUTCOME_REPORT_KEY


@dataclass(frozen=True)
class FiledReport:
    """An outcome report as the hub took it, and when (None: filed elsewhere, date unknown)."""

    report: OutcomeReport
    filed_at: int | None

    def to_json(self) -> dict[str, Any]:
        return {"report": self.report.to_json(), "filed_at": self.filed_at}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> FiledReport:
        return cls(OutcomeReport.from_json(value["report"]), value["filed_at"])


@dataclass
class Outcomes:
    session: Session
    cache: InboxCache

    async def file(self, case_id: bytes, report: OutcomeReport) -> FiledReport:
        """Send the report to the hub now and keep what was filed. Not through the outbox:
        the person is shown at once whether the hub took it. Raises RemoteError when the hub
        refuses, aiohttp.ClientError, OSError or TimeoutError when it cannot be reached."""
        client = await self.session.hub()
        answer = await client.put_outcome_report(case_id, report.to_json())
        filed = FiledReport(OutcomeReport.from_json(answer["report"]), int(answer["filed_at"]))
        await self._keep(case_id, filed)
        return filed

    async def stored(self, case_id: bytes) -> FiledReport | None:
        """The report this inbox filed (or learnt from the hub) for our case, if any."""
        stored = await self.cache.get_value(_REPORT_KEY + case_id.hex())
        return FiledReport.from_json(json.loads(stored)) if stored else None

    async def fetch(self, case_id: bytes) -> FiledReport | None:
        """Ask the hub for a report filed elsewhere (another of our machines); when it was
        filed the hub does not say, so the date stays unknown."""
        client = await self.session.hub()
        report = await client.outcome_report(case_id)
        if report is None:
            return None
        filed = FiledReport(OutcomeReport.from_json(report), None)
        await self._keep(case_id, filed)
        return filed

    def free_text(self) -> bool:
        """The network asks for the reasons in words too (`outcome_free_text: true`)."""
        return self.session.settings.get("outcome_free_text") is True

    async def _keep(self, case_id: bytes, filed: FiledReport) -> None:
        await self.cache.set_value(_REPORT_KEY + case_id.hex(), json.dumps(filed.to_json()))
