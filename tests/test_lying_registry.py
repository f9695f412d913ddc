"""A lying hub (tests/lyinghub.py) against the signed registry (issue 12): swapped names, changed
settings, a hub-written kommunmall, a directory with a gap, an older directory after a newer
one. For each, what the person sees, and that nothing is sealed on the hub's word."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from hub.crypto.keys import SigningKey
from hub.crypto.records import sign_record
from hub.errors import MESSAGES, HubError
from hub.inbox.session import UNSIGNED_NAMES, UNSIGNED_SETTINGS
from tests.hubnet import NETWORK
from tests.inboxnet import page_text as _text
from tests.inboxnet import running_agent
from tests.lyinghub import log_as_served, lying_hub, older_view
from tests.vectors._rng import SeededRng

REGISTRY = f"/api/v1/networks/{NETWORK}/registry"
MEMBERS = f"/api/v1/networks/{NETWORK}/municipalities"
NETWORK_INFO = f"/api/v1/networks/{NETWORK}"


@pytest.fixture
async def liar(tmp_path):
    async with lying_hub(tmp_path) as (net, proxy):
        yield net, proxy


def _in_registry(rewrite: Any) -> Any:
    """A lie about GET .../registry and the directory log's records: the list of records
    becomes what `rewrite` returns (the checkpoint, which the hub cannot sign, stays)."""

    def lie(method: str, path: str, said: Any) -> Any:
        if method != "GET" or path not in {REGISTRY, f"{REGISTRY[: -len('registry')]}log"}:
            return said
        return {**said, "records": rewrite(list(said["records"]))}

    return lie


def _body(wire: dict[str, str]) -> bytes:
    return base64.b64decode(wire["record"])


async def _received(net: Any, person: str) -> list[Any]:
    return await (await net.client(person)).envelopes("inbox")


async def test_names_swapped_in_the_hubs_member_list_are_not_shown_or_sealed_to(liar, tmp_path):
    """The hub swaps Kommun B's and Kommun C's names (and kommunmallar) in its member list and
    its settings answer: A's inbox reads neither. It shows Kommun B by its signed name, the
    inquiry to kommun-b goes to Kommun B's keys only, and the case says Kommun B."""
    net, proxy = liar

    def swap(method: str, path: str, said: Any) -> Any:
        if method == "GET" and path == MEMBERS:
            names = {"kommun-b": "Kommun C", "kommun-c": "Kommun B"}
            return {
                "municipalities": [
                    {**m, "name": names.get(m["id"], m["name"]), "template": {"text": "FALSK"}}
                    for m in said["municipalities"]
                ]
            }
        if method == "GET" and path == NETWORK_INFO:
            return {**said, "settings": {**said["settings"], "answer_days": 60}}
        return said

    proxy.lie(swap)
    async with running_agent(net, "anna", tmp_path) as anna:
        await anna.login()
        assert anna.core.name_of("kommun-b") == "Kommun B"
        assert anna.core.deadline_rules.answer_days == 14  # the signed record, not 60
        _, page = await anna.page("/ny")
        assert "FALSK" not in page
        case_id = await anna.core.send_inquiry({"bakgrund_till_placering": "x"}, [], ["kommun-b"])
        _, case = await anna.page(f"/arende/{case_id.hex()}")
        assert "Förfrågan till Kommun B" in _text(case)
        assert "Kommun C" not in _text(case)
    assert len(await _received(net, "bertil")) == 1
    assert await _received(net, "cecilia") == []


@pytest.mark.parametrize(
    ("lie", "code"),
    [
        ("name_changed", "record_bad_signature"),
        ("names_swapped", "registry_gap"),
        ("settings_changed", "record_bad_signature"),
        ("hub_kommunmall", "record_wrong_signer"),
        ("gap", "registry_gap"),
    ],
    ids=["name_changed", "names_swapped", "settings_changed", "hub_kommunmall", "gap"],
)
async def test_a_registry_the_hub_changed_is_refused_whole_and_nothing_is_sealed(
    liar, tmp_path, lie, code
):
    """Each change to the signed sequence refuses the whole of it, with a Swedish sentence that
    names the problem: the agent does not start, so it shows no name, setting or kommunmall
    and seals nothing."""
    net, proxy = liar
    hub_key = SigningKey.generate(SeededRng("lying-registry/hub"))

    def rewrite(records: list[dict[str, str]]) -> list[dict[str, str]]:
        if lie == "name_changed":  # serial 2 is Kommun B's record
            raw = _body(records[1]).replace(b"Kommun B", b"Kommun C")
            records[1] = {**records[1], "record": base64.b64encode(raw).decode()}
        elif lie == "names_swapped":
            records[1], records[2] = records[2], records[1]
        elif lie == "settings_changed":  # serial 4 is the settings record
            raw = _body(records[3]).replace(b'"answer_days":14', b'"answer_days":60')
            records[3] = {**records[3], "record": base64.b64encode(raw).decode()}
        elif lie == "hub_kommunmall":
            body = {
                "kind": "kommunmall",
                "network": NETWORK,
                "municipality": "kommun-b",
                "offer": "Skrivet av hubben",
                "contact": "",
                "serial": len(records) + 1,
            }
            records.append(sign_record(body, hub_key))
        elif lie == "gap":  # the revocation-free middle: Bertil's entry (serial 6) left out
            del records[5]
        return records

    proxy.lie(_in_registry(rewrite))
    with pytest.raises(HubError) as refused:
        async with running_agent(net, "anna", tmp_path):
            pass
    assert refused.value.code == code
    assert refused.value.message == MESSAGES[code]
    proxy.lies.clear()
    assert await _received(net, "bertil") == []


async def test_an_older_directory_after_a_newer_one_is_refused(liar, tmp_path):
    """Anna's agent has verified the sequence up to Bertil's revocation; the hub then serves
    the older view in which Bertil's key is still valid. The agent refuses it, and the inquiry
    is not sealed to the revoked key (nor at all)."""
    net, proxy = liar
    async with running_agent(net, "anna", tmp_path) as anna:
        before = await log_as_served(net)
        await net.revoke("bertil", at=int(net.clock()))
        await anna.core.session.refresh_directory()
        newest = anna.core.session.known_serial
        assert newest == net.serial
        proxy.lie(older_view(before))
        with pytest.raises(HubError) as refused:
            await anna.core.session.refresh_directory()
        assert refused.value.code == "checkpoint_rolled_back"
        assert "äldre katalog" in refused.value.message
        assert anna.core.session.known_serial == newest
    assert await _received(net, "britta") == []


async def test_a_network_moves_to_signed_settings_while_agents_run(tmp_path):
    """Set up before the registry was signed: the inbox shows ids and says why, counts with the
    national deadlines and says so, whatever the operator set (21 days). The administrator signs the
    members and then settings of 21 days while the agent runs; it takes them on its next
    refresh, and the notice goes."""
    settings = {"answer_days": 21}
    async with (
        lying_hub(tmp_path, signed_registry=False, network_settings=settings) as (net, _proxy),
        running_agent(net, "anna", tmp_path) as anna,
    ):
        await anna.login()
        assert anna.core.deadline_rules.answer_days == 14
        assert anna.core.name_of("kommun-b") == "kommun-b"
        _, page = await anna.page("/")
        assert UNSIGNED_SETTINGS.split(".")[0] in _text(page)
        assert UNSIGNED_NAMES.split(".")[0] in _text(page)
        await net.sign_registry()
        await net.sign_settings(answer_days=21)
        await anna.core.refresh_members()
        assert anna.core.deadline_rules.answer_days == 21
        assert anna.core.name_of("kommun-b") == "Kommun B"
        _, page = await anna.page("/")
        assert UNSIGNED_SETTINGS.split(".")[0] not in _text(page)
        assert UNSIGNED_NAMES.split(".")[0] not in _text(page)


async def test_an_older_directory_is_refused_after_a_restart_too(liar, tmp_path):
    """The inbox keeps the highest serial it has verified in its cache: restarted against a hub
    that serves the view from before Bertil's revocation, it refuses to start."""
    net, proxy = liar
    before = await log_as_served(net)
    async with running_agent(net, "anna", tmp_path) as anna:
        await net.revoke("bertil", at=int(net.clock()))
        await anna.core.session.refresh_directory()
    proxy.lie(older_view(before))
    with pytest.raises(HubError) as refused:
        async with running_agent(net, "anna", tmp_path):
            pass
    assert refused.value.code == "checkpoint_rolled_back"
    proxy.lies.clear()
    async with running_agent(net, "anna", tmp_path) as anna:
        assert anna.core.session.known_serial == net.serial
