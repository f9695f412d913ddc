"""GET /metrics (issue 18): the Prometheus text format, counts and durations only, no
municipality or network named; its own bearer token unless the hub is on loopback alone."""

from __future__ import annotations

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from hub.server.config import load_config
from tests.hubnet import NETWORK, running_hub


async def _scrape(net, headers=None) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{net.url}/metrics", headers=headers or {}) as response,
    ):
        return response.status, await response.text()


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_the_metrics_parse_and_move_after_an_upload(tmp_path, database):
    async with running_hub(tmp_path, database=database) as net:
        anna = await net.client("anna")
        status, before_text = await _scrape(net)
        assert status == 200
        before = _samples(before_text)
        answer = await anna.upload(net.seal_to("anna", ["kommun-b"], {"x": 1}), ["kommun-b"])
        status, after_text = await _scrape(net)
        after = _samples(after_text)

    stored = ("hub_uploads_total", (("outcome", "stored"),))
    assert after[stored] == before[stored] + 1
    assert after[("hub_upload_duration_seconds_count", ())] == (
        before[("hub_upload_duration_seconds_count", ())] + 1
    )
    assert after[("hub_envelopes_stored", ())] == before[("hub_envelopes_stored", ())] + 1
    assert after[("hub_envelope_bytes", ())] > before[("hub_envelope_bytes", ())]
    assert before[("hub_signins_total", (("outcome", "ok"),))] == 2  # the admin and anna
    assert after[("hub_notices", (("state", "pending"),))] >= 0
    assert after[("hub_notices", (("state", "failed"),))] == 0
    assert after[("hub_deadline_clock_lag_seconds", ())] == 0  # the clock keeps up
    assert after[("hub_disk_free_bytes", ())] > 0
    assert after[("hub_database_bytes", ())] > 0
    route = (
        "hub_http_requests_total",
        (("method", "POST"), ("route", "/api/v1/envelopes"), ("status", "201")),
    )
    assert after[route] == before.get(route, 0) + 1

    # Nothing names a municipality, the network, a person, a key or the message.
    for name in ("kommun-a", "kommun-b", "kommun-c", NETWORK, "anna", "bertil"):
        assert name not in after_text
    assert answer.message_id not in after_text
    for person in net.people.values():
        assert person.key_id.hex() not in after_text


async def test_a_refused_upload_and_a_failed_sign_in_are_counted(tmp_path):
    async with running_hub(tmp_path) as net:
        anna = await net.client("anna")
        before = _samples((await _scrape(net))[1])
        async with aiohttp.ClientSession() as session:
            async with session.post(
                f"{net.url}/api/v1/envelopes?to=kommun-b",
                data=b"not an envelope",
                headers={"Authorization": f"Bearer {anna.signed_in.token}"},
            ) as response:
                assert response.status >= 400
            async with session.post(f"{net.url}/api/v1/auth/session", json={}) as response:
                assert response.status >= 400
        after = _samples((await _scrape(net))[1])
    refused = ("hub_uploads_total", (("outcome", "refused"),))
    assert after[refused] == before[refused] + 1
    signin = ("hub_signins_total", (("outcome", "refused"),))
    assert after[signin] == before[signin] + 1
    failures = ("hub_http_failures_total", (("kind", "refused"),))
    assert after[failures] >= before[failures] + 2


async def test_a_missing_or_wrong_token_is_refused(tmp_path):
    async with running_hub(tmp_path, metrics_token="rätt-token-1234") as net:
        assert (await _scrape(net))[0] == 401
        assert (await _scrape(net, {"Authorization": "Bearer fel"}))[0] == 401
        assert (await _scrape(net, {"Authorization": "rätt-token-1234"}))[0] == 401
        status, text = await _scrape(net, {"Authorization": "Bearer rätt-token-1234"})
        assert status == 200
        assert "hub_uploads_total" in text


async def test_without_a_token_only_a_loopback_hub_answers_and_never_a_proxy(tmp_path):
    """No token: a hub that listens beyond loopback refuses; a loopback hub refuses a request a
    proxy forwarded (the README's nginx config passes everything to 127.0.0.1). Refused as the
    hub refuses what a caller may not see: 404 forbidden."""
    async with running_hub(tmp_path, host="0.0.0.0") as net:  # noqa: S104 - the setting, not a bind
        assert (await _scrape(net))[0] == 404
    async with running_hub(tmp_path / "2") as net:
        assert (await _scrape(net, {"X-Forwarded-For": "203.0.113.9"}))[0] == 404
        assert (await _scrape(net, {"Forwarded": "for=203.0.113.9"}))[0] == 404
        assert (await _scrape(net))[0] == 200


def test_the_token_comes_from_hub_toml_or_the_environment(tmp_path):
    toml = tmp_path / "hub.toml"
    toml.write_text('[server]\nmetrics_token = "från-filen"\n')
    assert load_config(toml, environ={}).metrics_token == "från-filen"
    assert load_config(toml, environ={"HUB_METRICS_TOKEN": "env"}).metrics_token == "env"
    assert "från-filen" not in repr(load_config(toml, environ={}))


@pytest.mark.parametrize("path", ["/metrics?x=1"])
async def test_the_metrics_take_no_query(tmp_path, path):
    async with (
        running_hub(tmp_path) as net,
        aiohttp.ClientSession() as session,
        session.get(f"{net.url}{path}") as response,
    ):
        assert response.status == 400
