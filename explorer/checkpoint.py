"""Checkpoints of a breadth-first run, and resuming from one.

The driver (`engines.driver.run`) saves the search between two levels, at most every
`every` seconds: the bookkeeping of `common.Search` (verdicts and their discoveries, the
parent links, fired counters, transitions, depth, elapsed time) and the strategy's frontier and
visited set (`Strategy.snapshot`), in an engine-neutral form (state tuples for the reference
engine; packed states and keys as Python ints for the packed engines). A resumed run restores
them and goes on with the next level, so it ends with exactly the counts, verdicts and shortest
traces of an uninterrupted run (the engines agree on those whichever expands a level).

A checkpoint file is written atomically (a temporary file in the same directory, fsync, then
rename): an interrupted or killed run always leaves the previous checkpoint whole. Its layout:

    MAGIC (8 bytes) | format version (4 bytes, big-endian) | SHA-256 of the payload (32 bytes)
    | payload (a pickle of plain data: dicts, lists, ints, strings, `array`s)

The payload names the spec (the SHA-256 of its text), the flags that affect the search and
the memory model; `load` refuses a file whose magic, version, checksum or identity does not
match with a `CheckpointError` (never a wrong answer). The checksum is verified before the
payload is unpickled, so only bytes this program wrote are ever unpickled.
"""
from __future__ import annotations

import hashlib
import os
import pickle
import struct
import tempfile
import time
from pathlib import Path
from typing import Any

MAGIC = b"SMPXCKPT"
FORMAT = 1
_HEADER = struct.Struct(">8sI32s")
DEFAULT_EVERY = 60.0


class CheckpointError(Exception):
    """A checkpoint that cannot be used (corrupt, truncated, foreign or from a newer format)."""


def spec_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that `path` holds either its old or its new content."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename itself durable
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def encode(payload: dict) -> bytes:
    body = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(MAGIC, FORMAT, hashlib.sha256(body).digest()) + body


def decode(data: bytes, where: str) -> dict:
    """The payload of a checkpoint file's bytes, or a `CheckpointError` saying what is wrong."""
    if len(data) < _HEADER.size:
        raise CheckpointError(f"{where}: truncated checkpoint ({len(data)} bytes)")
    magic, version, digest = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise CheckpointError(f"{where}: not an smp-explorer checkpoint")
    if version > FORMAT:
        raise CheckpointError(f"{where}: checkpoint format {version} was written by a newer "
                              f"smp-explorer (this one reads format {FORMAT})")
    if version != FORMAT:
        raise CheckpointError(f"{where}: checkpoint format {version} is no longer supported "
                              f"(this one reads format {FORMAT})")
    body = data[_HEADER.size:]
    if hashlib.sha256(body).digest() != digest:
        raise CheckpointError(f"{where}: corrupt or truncated checkpoint (checksum mismatch)")
    payload = pickle.loads(body)
    if not isinstance(payload, dict):
        raise CheckpointError(f"{where}: corrupt checkpoint (unexpected content)")
    return payload


class Checkpointer:
    """Saves one run's search (of one memory model) to `path` every `every` seconds, and holds
    the state to resume from, if any (`resume`). `identity` names the spec and flags: a
    checkpoint with another identity is refused."""

    def __init__(self, path: Path, identity: dict[str, Any], every: float = DEFAULT_EVERY,
                 resume: bool = False):
        self.path = Path(path)
        self.identity = identity
        self.every = every
        self.last = time.monotonic()
        self.saved = 0
        self.resume: dict | None = self.load() if resume and self.path.exists() else None

    def load(self) -> dict:
        try:
            data = self.path.read_bytes()
        except OSError as e:
            raise CheckpointError(f"{self.path}: cannot read the checkpoint: {e.strerror}") \
                from None
        payload = decode(data, str(self.path))
        if payload.get("identity") != self.identity:
            raise CheckpointError(f"{self.path}: the checkpoint belongs to another run "
                                  "(another spec, spec text, memory model or flags)")
        return payload

    def due(self) -> bool:
        return time.monotonic() - self.last >= self.every

    def save(self, state: dict) -> None:
        write_atomic(self.path, encode({"identity": self.identity, "state": state}))
        self.last = time.monotonic()
        self.saved += 1
