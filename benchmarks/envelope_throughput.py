"""Envelope throughput and peak memory, against raw pynacl secretstream (benchmarks/README.md).

    .venv/bin/python -m benchmarks.envelope_throughput            # 256 MiB, 1 GiB, best of 3
    .venv/bin/python -m benchmarks.envelope_throughput --quick    # 16 MiB, 32 MiB smoke run

Goals: seal and open from memory at >= 0.8 x raw push throughput; peak RSS < 100 MB for a
1 GiB payload, sealing and opening each in a fresh process.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import nacl

# The reference figure is pynacl's own public binding, called the way an application would;
# the ban keeps hub/ away from the primitives, and this file is outside hub/.
import nacl.bindings as sodium  # noqa: TID251

from hub.crypto import content, envelope
from hub.crypto.envelope import AttachmentSource, PinnedSender, open_envelope, seal
from hub.crypto.format import CHUNK_SIZE, MessageKind
from hub.crypto.keys import PrivateIdentity

if TYPE_CHECKING:
    from collections.abc import Callable

    from hub.crypto.envelope import OpenedMessage, Readable, Writable

MIB = 1 << 20
MB = 1_000_000  # figures are in MB (10^6 bytes); sizes of payloads in MiB
RATIO_GOAL = 0.8
MEMORY_GOAL_MB = 100
REPO = Path(__file__).resolve().parents[1]
SHM = Path("/dev/shm")  # noqa: S108 - a RAM-backed workdir, so open's plaintext file costs no disk I/O
PATTERN_SEED = hashlib.sha256(b"hub benchmark payload").digest()
CASE_ID = bytes(range(16))
DOCUMENT = {"subject": "benchmark", "body": "one large attachment"}


def _identity(name: str) -> PrivateIdentity:
    # Fixed benchmark keys, so the sealing and the opening child agree without sharing a file.
    def seed(part: str) -> bytes:
        return hashlib.sha256(f"hub benchmark {name} {part}".encode()).digest()

    return PrivateIdentity(seed("signing"), seed("encryption"))


SENDER = _identity("sender")
RECIPIENT = _identity("recipient")


# --- streams ------------------------------------------------------------------------------


class MemorySource(io.RawIOBase):
    """Reads from a preallocated buffer: no file I/O in the measurement, one copy per read."""

    def __init__(self, data: memoryview) -> None:
        super().__init__()
        self._data = data
        self._pos = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), len(self._data) - self._pos)
        buffer[:n] = self._data[self._pos : self._pos + n]
        self._pos += n
        return n


class PatternSource(io.RawIOBase):
    """`size` deterministic bytes without holding them: one 1 MiB block of seeded ChaCha20
    output (libsodium's randombytes_buf_deterministic), repeated."""

    def __init__(self, size: int, seed: bytes = PATTERN_SEED) -> None:
        super().__init__()
        self._block = memoryview(sodium.randombytes_buf_deterministic(MIB, seed))
        self._size = size
        self._pos = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self._size - self._pos)
        done = 0
        while done < n:
            off = (self._pos + done) % MIB
            k = min(n - done, MIB - off)
            buffer[done : done + k] = self._block[off : off + k]
            done += k
        self._pos += n
        return n


class NullSink(io.RawIOBase):
    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        return memoryview(data).nbytes


# --- the operations measured --------------------------------------------------------------


def seal_one(out: Writable, source: Readable, size: int) -> None:
    seal(
        out,
        sender=SENDER,
        recipients=[RECIPIENT.public],
        kind=MessageKind.INQUIRY,
        case_id=CASE_ID,
        document=DOCUMENT,
        attachments=[AttachmentSource("payload.bin", "application/octet-stream", size, source)],
        created_at=int(time.time()),
    )


def open_one(src: Readable, workdir: Path) -> OpenedMessage:
    return open_envelope(
        src,
        recipient=RECIPIENT,
        sender_keys=PinnedSender(SENDER.public),
        workdir=workdir,
        now=int(time.time()),
    )


def check_attachment(opened: OpenedMessage, expected: io.RawIOBase, size: int) -> None:
    """Not timed: the opened attachment must be byte for byte what was sealed."""
    seen = 0
    for block in opened.iter_attachment(0):
        if block != expected.read(len(block)):
            raise SystemExit(f"opened attachment differs from the payload near byte {seen}")
        seen += len(block)
    if seen != size:
        raise SystemExit(f"opened attachment has {seen} bytes, expected {size}")


def padded_payload_length(size: int) -> int:
    """What the envelope encrypts for one `size`-byte attachment: manifest, payload, padding."""
    infos = [content.AttachmentInfo("payload.bin", "application/octet-stream", size)]
    return content.padded_length(
        content.content_length(content.encode_manifest(DOCUMENT, infos), infos)
    )


def timed(run: Callable[[], None]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def raw_push_runs(payload: memoryview, repeat: int) -> list[float]:
    # Chunks are bytes objects made up front, so only the push calls are timed.
    chunks = [bytes(payload[i : i + CHUNK_SIZE]) for i in range(0, len(payload), CHUNK_SIZE)]
    push = sodium.crypto_secretstream_xchacha20poly1305_push
    message = sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
    final = sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL
    body, last = chunks[:-1], chunks[-1]
    times = []
    for _ in range(repeat):
        state = sodium.crypto_secretstream_xchacha20poly1305_state()
        sodium.crypto_secretstream_xchacha20poly1305_init_push(state, os.urandom(32))

        def run(state: sodium.crypto_secretstream_xchacha20poly1305_state = state) -> None:
            for chunk in body:
                push(state, chunk, None, message)
            push(state, last, None, final)

        times.append(timed(run))
    return times


def in_memory_runs(
    payload: memoryview, repeat: int, workdir: Path
) -> tuple[list[float], list[float]]:
    size = len(payload)
    seal_times = [
        timed(lambda: seal_one(NullSink(), MemorySource(payload), size)) for _ in range(repeat)
    ]
    sealed = io.BytesIO()
    seal_one(sealed, MemorySource(payload), size)
    open_times = []
    try:
        for i in range(repeat):
            sealed.seek(0)
            start = time.perf_counter()
            opened = open_one(sealed, workdir)
            open_times.append(time.perf_counter() - start)
            try:
                if i == 0:
                    check_attachment(opened, MemorySource(payload), size)
            finally:
                opened.close()
    finally:
        sealed.close()
    return seal_times, open_times


def pipeline_open_runs(payload: memoryview, repeat: int) -> list[float]:
    """Open's decrypt-and-digest pipeline alone, plaintext to a null sink: separates the cost
    of the crypto from the cost of writing the plaintext file (page faults on this VM)."""
    sealed = io.BytesIO()
    seal_one(sealed, MemorySource(payload), len(payload))
    data = sealed.getvalue()
    header = envelope.read_header(io.BytesIO(data))
    file_key = envelope._unwrap(header.stanzas[0], header.message_id, RECIPIENT)  # noqa: SLF001
    times = []
    for _ in range(repeat):
        src = io.BytesIO(data)
        envelope.read_header(src)
        times.append(
            timed(lambda src=src: envelope._decrypt_stream(src, header, file_key, NullSink()))  # noqa: SLF001
        )
    return times


def file_runs(payload: memoryview, repeat: int, tmp: Path) -> tuple[list[float], list[float]]:
    size = len(payload)
    plain, envelope, workdir = tmp / "payload.bin", tmp / "payload.hubenv", tmp / "work"
    workdir.mkdir()
    plain.write_bytes(payload)

    def seal_file() -> float:
        start = time.perf_counter()
        with plain.open("rb") as src, envelope.open("wb") as out:
            seal_one(out, src, size)
        return time.perf_counter() - start

    def open_file(*, check: bool = False) -> float:
        start = time.perf_counter()
        with envelope.open("rb") as src:
            opened = open_one(src, workdir)
        elapsed = time.perf_counter() - start
        try:
            if check:
                with plain.open("rb") as expected:
                    check_attachment(opened, expected, size)
        finally:
            opened.close()
        return elapsed

    seal_file()  # warm-up pass: page cache, allocator, thread pool
    open_file(check=True)
    seal_times = [seal_file() for _ in range(repeat)]
    open_times = [open_file() for _ in range(repeat)]
    for path in (plain, envelope):
        path.unlink()
    return seal_times, open_times


# --- peak memory: one fresh process per operation -----------------------------------------


def peak_rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def vm_hwm_kib() -> int | None:
    """This address space's own peak RSS, which, unlike ru_maxrss, nothing before exec feeds."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def child_main(mode: str, size: int, path: Path) -> None:
    after_imports = peak_rss_kib()
    if mode == "seal":
        with path.open("wb") as out:
            seconds = timed(lambda: seal_one(out, PatternSource(size), size))
    else:
        start = time.perf_counter()
        with path.open("rb") as src:
            opened = open_one(src, path.parent)
        seconds = time.perf_counter() - start
        try:
            check_attachment(opened, PatternSource(size), size)
        finally:
            opened.close()
    result = {
        "maxrss_kib": peak_rss_kib(),
        "after_imports_kib": after_imports,
        "vmhwm_kib": vm_hwm_kib(),
        "seconds": seconds,
    }
    print(json.dumps(result))


def memory_children(size: int, tmp: Path) -> dict[str, dict[str, float]]:
    path = tmp / "memory.hubenv"
    results = {}
    try:
        for mode in ("seal", "open"):
            command = [
                sys.executable,
                "-m",
                "benchmarks.envelope_throughput",
                "--child",
                mode,
                "--memory-size-mib",
                str(size // MIB),
                "--child-path",
                str(path),
            ]
            # The command is this very module under this interpreter: no untrusted input.
            proc = subprocess.run(  # noqa: S603
                command, cwd=REPO, capture_output=True, text=True, check=False
            )
            if proc.returncode != 0:
                raise SystemExit(f"memory child {mode!r} failed:\n{proc.stderr}")
            results[mode] = json.loads(proc.stdout.strip().splitlines()[-1])
    finally:
        path.unlink(missing_ok=True)
    return results


# --- report -------------------------------------------------------------------------------


def cpu_info() -> tuple[str, set[str]]:
    model, flags = "", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and not model:
                model = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = set(value.split())
    except OSError:
        pass
    return model or platform.processor() or "unknown", flags


def filesystem_of(path: Path) -> str:
    best, found = "", "unknown"
    try:
        for line in Path("/proc/mounts").read_text().splitlines():
            device, mount, fstype, *_ = line.split()
            inside = str(path).startswith(mount.rstrip("/") + "/") or str(path) == mount
            if inside and len(mount) > len(best):
                best, found = mount, f"{fstype} {device} mounted on {mount}"
    except OSError:
        pass
    return found


def machine_lines(tmp: Path, workdir: Path) -> list[str]:
    model, flags = cpu_info()
    features = ", ".join(f"{f} {'yes' if f in flags else 'no'}" for f in ("sha_ni", "avx2"))
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    nproc = len(os.sched_getaffinity(0))
    system = f"{platform.system()} {platform.release()}"
    return [
        f"machine: nproc {nproc} (cpu_count {os.cpu_count()}), CPU {model} ({features})",
        f"software: Python {platform.python_version()}, pynacl {nacl.__version__}, {system}",
        f"load average at start: {load} (other work on the machine makes every figure noisy)",
        f"temp files: {tmp} ({filesystem_of(tmp)}); removed at the end",
        f"open workdir, memory rows: {workdir} ({filesystem_of(workdir)})",
    ]


@dataclass(frozen=True)
class Row:
    label: str
    times: list[float]
    goal: str


def throughput_table(size: int, raw: list[float], groups: list[tuple[str, list[Row]]]) -> list[str]:
    def rates(times: list[float]) -> str:
        return " ".join(f"{size / t / MB:.0f}" for t in times)

    raw_best = size / min(raw) / MB
    width = max(len("all runs MB/s"), *(len(rates(r.times)) for _, rows in groups for r in rows))
    head = f"  {'step':<46}{'best MB/s':>10}{'x raw':>7}  {'all runs MB/s':<{width}}  goal"
    lines = [head, ""]  # the rule under the head is sized once the rows are known

    def line(label: str, times: list[float], ratio: str, goal: str) -> str:
        best = size / min(times) / MB
        return f"  {label:<46}{best:>10.1f}{ratio:>7}  {rates(times):<{width}}  {goal}"

    lines.append(line("raw pynacl secretstream push, 64 KiB chunks", raw, "1.00", "reference"))
    for title, rows in groups:
        lines.append(f"  {title}")
        for row in rows:
            ratio = size / min(row.times) / MB / raw_best
            goal = row.goal
            if goal.startswith(">="):
                goal = f"{goal}: {'met' if ratio >= RATIO_GOAL else 'MISSED'}"
            lines.append(line(row.label, row.times, f"{ratio:.2f}", goal))
    lines[1] = "  " + "-" * (max(map(len, lines)) - 2)
    return lines


def memory_table(results: dict[str, dict[str, float]], parent_peak_kib: int) -> list[str]:
    def mb(kib: float | None) -> str:
        return "n/a" if kib is None else f"{kib * 1024 / MB:.1f}"

    columns = f"{'peak RSS MB':>12}{'after imports':>15}{'VmHWM MB':>10}{'wall s':>8}"
    head = f"  {'step':<42}{columns}  goal"
    lines = [head, "  " + "-" * (len(head) + 10)]
    labels = {
        "seal": "seal: generated stream -> temp file",
        "open": "open: temp file -> workdir, then verified",
    }
    for mode, r in results.items():
        peak = r["maxrss_kib"] * 1024 / MB
        verdict = f"< {MEMORY_GOAL_MB} MB: {'met' if peak < MEMORY_GOAL_MB else 'MISSED'}"
        lines.append(
            f"  {labels[mode]:<42}{mb(r['maxrss_kib']):>12}{mb(r['after_imports_kib']):>15}"
            f"{mb(r['vmhwm_kib']):>10}{r['seconds']:>8.2f}  {verdict}"
        )
    parent = f"{mb(parent_peak_kib)} MB"
    lines += [
        "  peak RSS is ru_maxrss. Linux carries the spawning process's peak into an exec'd",
        f"  child's ru_maxrss, so the children run first, while this process peaked at {parent}.",
        "  VmHWM (/proc/self/status) is the child's own address space alone, as a cross-check;",
        "  'after imports' is ru_maxrss before any work: the interpreter, hub and pynacl.",
    ]
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--size-mib", type=int, default=256, help="throughput payload size")
    parser.add_argument("--memory-size-mib", type=int, default=1024, help="memory payload size")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; best is shown")
    parser.add_argument("--quick", action="store_true", help="smoke run: 16 MiB and 32 MiB")
    parser.add_argument("--child", choices=["seal", "open"], help=argparse.SUPPRESS)
    parser.add_argument("--child-path", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.size_mib, args.memory_size_mib = 16, 32
    if args.child:
        child_main(args.child, args.memory_size_mib * MIB, args.child_path)
        return
    if args.size_mib < 1 or args.memory_size_mib < 1 or args.repeat < 1:
        parser.error("sizes and --repeat must be at least 1")

    size, memory_size = args.size_mib * MIB, args.memory_size_mib * MIB
    tmp = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    shm = Path(tempfile.mkdtemp(prefix="hub-bench-", dir=SHM)) if SHM.is_dir() else tmp / "shm"
    shm.mkdir(exist_ok=True)
    try:
        header = machine_lines(tmp.parent, shm.parent)

        def progress(text: str) -> None:
            print(f"... {text}", file=sys.stderr, flush=True)

        # First, while this process is small: a child's ru_maxrss starts from our peak.
        progress(f"peak memory, {args.memory_size_mib} MiB, seal and open in fresh processes")
        parent_peak = peak_rss_kib()
        memory = memory_children(memory_size, tmp)

        payload = memoryview(bytearray(os.urandom(size)))
        progress(f"raw pynacl push, {args.size_mib} MiB x {args.repeat}")
        raw = raw_push_runs(payload, args.repeat)
        progress("envelope seal and open, in memory")
        mem_seal, mem_open = in_memory_runs(payload, args.repeat, shm)
        pipe_open = pipeline_open_runs(payload, args.repeat)
        progress("envelope seal and open, file to file (after one warm-up pass)")
        file_seal, file_open = file_runs(payload, args.repeat, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(shm, ignore_errors=True)

    padded = padded_payload_length(size)
    goal = f">= {RATIO_GOAL:.1f} x raw"
    groups = [
        (
            "in memory (stream from a buffer, no file I/O):",
            [
                Row("envelope seal: memory -> null writer", mem_seal, goal),
                Row(f"envelope open: memory -> workdir {shm.parent}", mem_open, goal),
                Row("  of which decrypt+digest: memory -> null", pipe_open, "(info)"),
            ],
        ),
        (
            "file to file, INCLUDING disk I/O (page cache, no fsync; after 1 warm-up pass):",
            [
                Row("envelope seal: file -> file", file_seal, "(none, info)"),
                Row("envelope open: file -> workdir on disk", file_open, "(none, info)"),
            ],
        ),
    ]
    print("\n".join(header))
    print()
    print(
        f"Throughput: {args.size_mib} MiB payload as one attachment, one recipient; best of "
        f"{args.repeat} runs per row (MB = 10^6 bytes)."
    )
    print(
        f"Every MB/s counts the {args.size_mib} MiB payload; the envelope actually encrypts "
        f"{padded / MIB:.1f} MiB (manifest + Padme padding, "
        f"+{(padded / size - 1) * 100:.1f} %)."
    )
    print("\n".join(throughput_table(size, raw, groups)))
    print()
    print(
        f"Peak memory: {args.memory_size_mib} MiB payload, each step in a fresh subprocess, "
        f"peak RSS = getrusage(RUSAGE_SELF).ru_maxrss (MB = 10^6 bytes)."
    )
    print("\n".join(memory_table(memory, parent_peak)))


if __name__ == "__main__":
    main()
