"""docs/operations.md cannot drift from what works (issue 18): its command blocks marked
`ops-test: run` run in order as one script, in a temporary folder, on loopback; the block
marked `ops-test: serve` is replaced by `hub serve` started in the background; blocks marked
`ops-test: skip: <why>` need the real system. Every shell block carries one of the marks."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.hubnet import free_port

DOC = Path(__file__).resolve().parent.parent / "docs" / "operations.md"
MARK = re.compile(r"^<!-- ops-test: (run|serve|skip)(?:: (.+?))? -->$")
FENCE = re.compile(r"^```(\w*)$")
PUBLIC_URL = "https://hub.lansstyrelsen.example"


@dataclass(frozen=True)
class Block:
    mark: str
    reason: str | None
    language: str
    text: str
    line: int


def parse(markdown: str) -> list[Block]:
    """Every fenced block with the mark on the line before it (None for an unmarked one)."""
    blocks: list[Block] = []
    lines = markdown.splitlines()
    i = 0
    while i < len(lines):
        fence = FENCE.match(lines[i])
        if fence is None:
            i += 1
            continue
        start = i
        i += 1
        body: list[str] = []
        while i < len(lines) and lines[i] != "```":
            body.append(lines[i])
            i += 1
        mark = MARK.match(lines[start - 1]) if start > 0 else None
        blocks.append(
            Block(
                mark.group(1) if mark else "",
                mark.group(2) if mark else None,
                fence.group(1),
                "\n".join(body),
                start + 1,
            )
        )
        i += 1
    return blocks


def rewrite(text: str, root: Path, venv: Path, port: int) -> str:
    """The real system's paths and address, mapped into the test's folder and loopback."""
    for real, here in (
        ("sudo -u hub ", ""),
        ("sudo ", ""),
        ("/opt/hub/venv", str(venv)),
        ("/etc/hub", f"{root}/etc/hub"),
        ("/var/lib/hub", f"{root}/var/lib/hub"),
        ("/var/backups/hub", f"{root}/var/backups/hub"),
        (PUBLIC_URL, f"http://127.0.0.1:{port}"),
        ("8443", str(port)),
    ):
        text = text.replace(real, here)
    return text


def script(blocks: list[Block], root: Path, venv: Path, port: int) -> str:
    parts = ["set -euo pipefail", "trap '[ -f hub.pid ] && kill \"$(cat hub.pid)\"' EXIT"]
    for block in blocks:
        if block.mark == "run":
            parts.append(f"echo '## docs/operations.md line {block.line}'")
            parts.append(rewrite(block.text, root, venv, port))
        elif block.mark == "serve":
            parts.append(
                f"echo '## docs/operations.md line {block.line}: hub serve in the background'\n"
                f"{venv}/bin/hub serve --config {root}/etc/hub/hub.toml > serve.log 2> serve.err &\n"
                "echo $! > hub.pid\n"
                "for _ in $(seq 100); do\n"
                f"  curl -fsS -o /dev/null http://127.0.0.1:{port}/healthz && break\n"
                "  sleep 0.2\n"
                "done"
            )
    return "\n".join(parts) + "\n"


def test_every_shell_block_is_marked_and_every_skip_says_why():
    blocks = [b for b in parse(DOC.read_text(encoding="utf-8")) if b.language == "sh"]
    assert blocks
    for block in blocks:
        assert block.mark, f"docs/operations.md line {block.line}: a shell block with no mark"
        if block.mark == "skip":
            assert block.reason, f"line {block.line}: a skipped block must say why"
    assert [b.mark for b in blocks].count("serve") == 1


def test_the_parser_and_the_rewriting_on_their_own():
    doc = (
        "<!-- ops-test: run -->\n```sh\nsudo -u hub /opt/hub/venv/bin/hub backup /var/backups/hub/x\n```\n"
        "```sh\nls\n```\n"
        "<!-- ops-test: skip: needs root -->\n```sh\nsudo apt-get install x\n```\n"
    )
    blocks = parse(doc)
    assert [(b.mark, b.reason) for b in blocks] == [
        ("run", None),
        ("", None),
        ("skip", "needs root"),
    ]
    assert (
        rewrite(blocks[0].text, Path("/t"), Path("/v"), 1234)
        == "/v/bin/hub backup /t/var/backups/hub/x"
    )
    assert rewrite(f"{PUBLIC_URL} port = 8443", Path("/t"), Path("/v"), 99) == (
        "http://127.0.0.1:99 port = 99"
    )


@pytest.mark.skipif(
    subprocess.run(["which", "curl"], capture_output=True, check=False).returncode != 0,
    reason="the document's checks use curl, which is not installed",
)
def test_the_documents_marked_commands_run_as_a_script(tmp_path):
    venv = Path(sys.executable).parent.parent
    port = free_port()
    blocks = parse(DOC.read_text(encoding="utf-8"))
    text = script(blocks, tmp_path, venv, port)
    work = tmp_path / "admin"
    work.mkdir()
    (work / "run.sh").write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        PATH=f"{venv}/bin:{env.get('PATH', '/usr/bin:/bin')}",
        HUB_PASSPHRASE="en lång testlösenfras för dokumentet",
        HOME=str(tmp_path),
    )
    done = subprocess.run(
        ["bash", "run.sh"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    log = (work / "serve.log").read_text() if (work / "serve.log").exists() else ""
    assert done.returncode == 0, (
        f"{done.stdout}\n--- stderr ---\n{done.stderr}\n--- hub serve ---\n{log}"
    )
    out = done.stdout
    assert '"status": "ok"' in out  # /healthz
    assert "Nätverket lanskompotten är skapat" in out
    assert "Säkerhetskopian är klar" in out
    assert "Granskningsloggen är hel" in out
    assert re.search(r"^hub_uploads_total\{outcome=\"stored\"\} 0\.0$", out, re.MULTILINE)
    assert "Inget att uppgradera" in out
    # The hub's log lines on standard output (what the journal takes): JSON, ids and kinds,
    # nothing on standard error.
    records = [json.loads(line) for line in log.splitlines()]
    assert {
        "logger": "hub.server",
        "level": "INFO",
        "message": f"listening on 127.0.0.1:{port} (HTTP)",
    }.items() <= next(r for r in records if r["logger"] == "hub.server").items()
    for record in records:
        assert set(record) <= {"time", "level", "logger", "message", "request_id"}
    assert (work / "serve.err").read_text() == ""
    assert "Dora" not in log
    assert "vasteras" not in log
