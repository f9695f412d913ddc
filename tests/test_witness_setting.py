"""A witness's address in the signed settings (docs/protocol.md §12.5) is https, or http only to
this machine (tests, the demo): the administrator's tools refuse another, and so does every
client reading a record signed with one. `hub admin settings` says what is wrong with a witness
setting in Swedish, and signs nothing."""

from __future__ import annotations

import base64
import json

import pytest

from hub.crypto.keys import SigningKey, dumps_public_signing_key
from hub.crypto.records import sign_record
from hub.crypto.registry import (
    WitnessSetting,
    WitnessSettingError,
    make_settings,
    open_registry_record,
    witness_address,
)
from hub.errors import RecordFormatError
from tests.test_admin import ADMIN, admin_setup

NETWORK = "vittnesnat"


@pytest.mark.parametrize(
    "url",
    [
        "https://vittne.example",
        "https://vittne.example:8470/hub",
        "http://127.0.0.1:8470",
        "http://127.5.6.7",
        "http://localhost:8470",
        "http://[::1]:8470",
    ],
)
def test_https_or_this_machine_is_a_witness_address(url):
    assert witness_address(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://vittne.example",
        "http://10.0.0.7:8470",
        "http://127.0.0.1.vittne.example",
        "ftp://vittne.example",
        "https://",
        "https://admin:hemligt@vittne.example",
        "https://vittne example",
        "https://vittne.example/\u202e",
        "https://[::1",
        "vittne.example",
        "https://" + "v" * 200 + ".example",
    ],
)
def test_anything_else_is_not(url):
    assert not witness_address(url)


def _witnesses(url: str) -> list[WitnessSetting]:
    keys = [SigningKey.generate() for _ in range(3)]
    return [
        WitnessSetting(f"v{i}.example/w", k.public, url if i == 0 else f"https://v{i}.example")
        for i, k in enumerate(keys)
    ]


def test_the_tools_refuse_to_sign_a_plain_http_witness_and_say_why_in_swedish():
    admin = SigningKey.generate()
    with pytest.raises(WitnessSettingError) as refused:
        make_settings(admin, network=NETWORK, serial=1, witnesses=_witnesses("http://v.example"))
    assert refused.value.swedish == (
        "vittnet v0.example/w: adressen ska börja med https:// (http:// bara till den egna "
        "datorn, för test)"
    )
    make_settings(admin, network=NETWORK, serial=1, witnesses=_witnesses("http://127.0.0.1:1"))


def test_a_client_refuses_a_record_signed_with_one():
    """Signed with the network key past the tools: every client still refuses the record."""
    admin = SigningKey.generate()
    good = make_settings(admin, network=NETWORK, serial=1, witnesses=_witnesses("https://v"))
    body = open_registry_record(good, admin_public=admin.public, network=NETWORK)
    assert body.witnesses
    fields = json.loads(base64.b64decode(good["record"]))
    fields["witnesses"][0]["url"] = "http://vittne.example"
    bad = sign_record(fields, admin)
    with pytest.raises(RecordFormatError) as refused:
        open_registry_record(bad, admin_public=admin.public, network=NETWORK)
    assert refused.value.code == "record_malformed"


async def test_hub_admin_settings_says_what_is_wrong_in_swedish_and_signs_nothing(tmp_path):
    async with admin_setup(tmp_path) as s:
        files = []
        for n in range(3):
            pub = tmp_path / f"vittne{n}.pub"
            pub.write_text(dumps_public_signing_key(SigningKey.generate().public))
            files.append(pub.name)
        before = await (await s.net.client()).registry_records()

        def named(url0: str) -> list[str]:
            urls = [url0, "https://v1.example", "https://v2.example"]
            return [
                arg
                for n, (url, pub) in enumerate(zip(urls, files, strict=True))
                for arg in ("--witness", f"v{n}.example/w={url}={pub}")
            ]

        said = {}
        for name, args in {
            "plain http": named("http://v0.example"),
            "quorum": [*named("https://v0.example"), "--witness-quorum", "1"],
            "freshness": [*named("https://v0.example"), "--freshness-hours", "500"],
            "form": ["--witness", "v0.example/w=https://v0.example"],
        }.items():
            done = await s.hub("admin", "settings", *args, "--yes", *ADMIN)
            assert done.returncode != 0
            said[name] = done.stderr
        assert "adressen ska börja med https://" in said["plain http"]
        assert "kvorum ska vara 2 till 3: en majoritet av vittnena" in said["quorum"]
        assert "1-168 timmar" in said["freshness"]
        assert "--witness ska vara NAMN=ADRESS=NYCKELFIL" in said["form"]
        assert all("inget har signerats" in said[k] for k in ("plain http", "quorum", "freshness"))
        assert await (await s.net.client()).registry_records() == before
