"""Running the hub for real: configuration, TLS, refusing plain HTTP, logs that hold no content."""

from __future__ import annotations

import json
import logging
import shutil
import ssl
import subprocess

import aiohttp
import pytest
from aiohttp import web

from hub.client.api import HubClient, RemoteError, check_transport
from hub.errors import ApiError
from hub.server.app import JsonLogFormatter, init_app, ssl_context
from hub.server.config import ServerConfig, load_config
from tests.hubnet import free_port, running_hub


def test_config_comes_from_defaults_then_toml_then_environment(tmp_path):
    """hub.toml overrides the defaults and HUB_* variables override hub.toml."""
    toml = tmp_path / "hub.toml"
    toml.write_text('[server]\nport = 9000\ndata_dir = "/srv/hub"\nmax_envelope_bytes = 5000\n')
    config = load_config(toml, environ={"HUB_PORT": "9100"})
    assert (config.port, str(config.data_dir), config.max_envelope_bytes) == (
        9100,
        "/srv/hub",
        5000,
    )
    assert load_config(None, environ={}) == ServerConfig()


def test_unknown_or_malformed_settings_are_refused(tmp_path):
    """A misspelt setting or a port that is not a number stops the hub with a clear message."""
    toml = tmp_path / "hub.toml"
    toml.write_text("[server]\nprot = 9000\n")
    with pytest.raises(ValueError, match="prot"):
        load_config(toml, environ={})
    with pytest.raises(ValueError, match="port"):
        load_config(None, environ={"HUB_PORT": "nio"})


def test_smtp_settings_come_from_toml_with_the_password_from_a_file(tmp_path):
    """[smtp] in hub.toml, the password read from its own file and never printed."""
    secret = tmp_path / "smtp-password"
    secret.write_text("hemligt-lösen\n")
    toml = tmp_path / "hub.toml"
    toml.write_text(
        '[smtp]\nhost = "smtp.lansstyrelsen.example"\nsender = "hubben@lansstyrelsen.example"\n'
        f'username = "hubben"\npassword_file = "{secret}"\n'
    )
    config = load_config(toml, environ={"HUB_SMTP_PORT": "465", "HUB_SMTP_SECURITY": "tls"})
    assert config.smtp is not None
    assert (config.smtp.host, config.smtp.port, config.smtp.security) == (
        "smtp.lansstyrelsen.example",
        465,
        "tls",
    )
    assert config.smtp.password == "hemligt-lösen"
    assert "hemligt" not in repr(config)
    assert load_config(None, environ={}).smtp is None


@pytest.mark.parametrize(
    ("smtp", "message"),
    [
        ('host = "m"\nsender = "h@x.example"\npassword = "p"', "password_file"),
        ('sender = "h@x.example"', "smtp.host saknas"),
        ('host = "m"\nsender = "h@x.example"\nsecurity = "ssl"', "smtp.security"),
        ('host = "m"\nsender = "h@x.example"\nprot = 25', "prot"),
        ('host = "m"\nsender = "hubben"', "smtp.sender"),
    ],
)
def test_bad_smtp_settings_stop_the_hub_with_a_clear_message(tmp_path, smtp, message):
    toml = tmp_path / "hub.toml"
    toml.write_text(f"[smtp]\n{smtp}\n")
    with pytest.raises(ValueError, match=message):
        load_config(toml, environ={})


def test_a_password_is_never_sent_over_an_unencrypted_connection(tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("p")
    toml = tmp_path / "hub.toml"
    toml.write_text(
        f'[smtp]\nhost = "m"\nsender = "h@x.example"\nsecurity = "none"\npassword_file = "{secret}"\n'
    )
    with pytest.raises(ValueError, match="okrypterat"):
        load_config(toml, environ={})


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://hub.lansstyrelsen.example", True),
        ("http://127.0.0.1:8443", True),
        ("http://localhost:8443", True),
        ("http://[::1]:8443", True),
        ("http://10.1.2.3:8443", False),
        ("http://hub.lansstyrelsen.example", False),
    ],
)
def test_clients_refuse_plain_http_except_to_this_machine(url, allowed):
    """A client will not talk plain HTTP to a hub on another machine unless told explicitly."""
    if allowed:
        check_transport(url)
    else:
        with pytest.raises(ApiError) as caught:
            check_transport(url)
        assert caught.value.code == "plain_http_refused"
        check_transport(url, allow_insecure=True)


def test_log_lines_are_json_with_ids_and_kinds_only():
    """Each log line is one JSON object with time, level, logger, message and the request id."""
    record = logging.LogRecord(
        "hub.server", logging.INFO, __file__, 1, "envelope %s stored", ("ab" * 16,), None
    )
    record.request_id = "0123456789abcdef"
    line = json.loads(JsonLogFormatter().format(record))
    assert line["message"] == f"envelope {'ab' * 16} stored"
    assert line["request_id"] == "0123456789abcdef"
    assert set(line) == {"time", "level", "logger", "message", "request_id"}


@pytest.fixture
def certificate(tmp_path):
    """A self-signed certificate for 127.0.0.1, made with the openssl command (CI installs it)."""
    if shutil.which("openssl") is None:
        pytest.fail("the openssl command is needed: apt-get install openssl")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


async def test_hub_terminates_tls_itself(tmp_path, certificate):
    """With a certificate and key configured, the hub speaks HTTPS and a client that trusts the certificate connects."""
    cert, key = certificate
    port = free_port()
    config = ServerConfig(
        data_dir=tmp_path / "data",
        port=port,
        tls_cert=cert,
        tls_key=key,
        public_url=f"https://127.0.0.1:{port}",
    )
    runner = web.AppRunner(init_app(config))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, ssl_context=ssl_context(config)).start()
    try:
        trusting = ssl.create_default_context(cafile=str(cert))
        async with aiohttp.ClientSession() as session:
            async with session.get(f"https://127.0.0.1:{port}/healthz", ssl=trusting) as r:
                assert r.status == 200
            with pytest.raises(aiohttp.ClientConnectorCertificateError):
                await session.get(f"https://127.0.0.1:{port}/healthz")
            client = HubClient(f"https://127.0.0.1:{port}", "n", session=session)
            assert client.base_url.startswith("https://")
    finally:
        await runner.cleanup()


async def test_refusals_are_logged_by_route_pattern_not_by_path(tmp_path, caplog):
    """A refused request is logged by its route's pattern, so no network or municipality id lands in the log."""
    caplog.set_level("INFO", logger="hub.server")
    async with running_hub(tmp_path) as net:
        anna = await net.client("anna")
        with pytest.raises(RemoteError):
            await anna.put_municipality(
                "hemlig-kommun", name="X", population=1, manager_email="a@b.example"
            )
    refused = [r.getMessage() for r in caplog.records if r.getMessage().startswith("refused")]
    assert refused, "the refusal was not logged"
    assert any("{municipality}" in line for line in refused)
    assert not any("hemlig-kommun" in line or "lanskompotten" in line for line in refused)
