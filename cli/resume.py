"""`explorer check --checkpoint DIR` and `explorer resume DIR`.

DIR holds `run.json` (the spec's path and SHA-256, the flags of the run, a checksum), written
when the run starts, and one checkpoint per memory model, `<memory>.ckpt`
(`explorer.checkpoint`), saved between two levels of the search at most every
`--checkpoint-every` seconds. `explorer resume DIR` runs the same request again: each memory
model with a checkpoint goes on from it, any other is checked from the start; the results are
those of an uninterrupted run. A spec whose text changed, a directory of another run, or a
damaged file is refused (exit 2).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

from smp_explorer.cli.args import CheckRequest, Output, ResumeRequest, UsageError
from smp_explorer.explorer.checkpoint import (FORMAT, Checkpointer, CheckpointError, spec_hash,
                                              write_atomic)

RUN_FILE = "run.json"
# what is not part of a run's identity: how it is printed, where and how often it is saved
_NOT_IDENTITY = ("output", "file", "checkpoint", "checkpoint_every", "resume")


def _spec_text(file: str) -> str:
    try:
        return Path(file).read_text()
    except OSError as e:
        raise UsageError(f"cannot read {file}: {e.strerror}") from None


def _digest(doc: dict) -> str:
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def _flags(request: CheckRequest) -> dict:
    d = {k: v for k, v in asdict(request).items() if k not in _NOT_IDENTITY}
    return json.loads(json.dumps(d))  # as run.json holds them (tuples become lists)


def _run_doc(request: CheckRequest) -> dict:
    return dict(format=FORMAT, spec=str(Path(request.file).resolve()), given=request.file,
                spec_sha256=spec_hash(_spec_text(request.file)), flags=_flags(request),
                output=asdict(request.output), every=request.checkpoint_every)


def start(request: CheckRequest) -> None:
    """Create the checkpoint directory of a new run (its old checkpoints are removed)."""
    assert request.checkpoint is not None
    d = Path(request.checkpoint)
    try:
        d.mkdir(parents=True, exist_ok=True)
        for old in d.glob("*.ckpt"):
            old.unlink()
        doc = _run_doc(request)
        write_atomic(d / RUN_FILE, json.dumps(dict(doc, checksum=_digest(doc)),
                                              indent=1).encode())
    except OSError as e:
        raise UsageError(f"--checkpoint {d}: {e.strerror or e}") from None


def checkpointer(request: CheckRequest, memory: str) -> Checkpointer | None:
    """The checkpointer of one memory model's search, if the run has a checkpoint directory."""
    if request.checkpoint is None:
        return None
    identity = dict(format=FORMAT, spec_sha256=spec_hash(_spec_text(request.file)),
                    memory=memory, flags=_flags(request))
    return Checkpointer(Path(request.checkpoint) / f"{memory}.ckpt", identity,
                        request.checkpoint_every, resume=request.resume)


def resumed_request(request: ResumeRequest) -> CheckRequest:
    """The check request a checkpoint directory was made by, to run again from its
    checkpoints; a `CheckpointError` when the directory cannot be resumed."""
    d = Path(request.directory)
    path = d / RUN_FILE
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise CheckpointError(f"{d}: not a checkpoint directory (no {RUN_FILE})") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path}: corrupt checkpoint description ({e})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("format"), int):
        raise CheckpointError(f"{path}: corrupt checkpoint description")
    if doc["format"] > FORMAT:
        raise CheckpointError(f"{path}: checkpoint format {doc['format']} was written by a "
                              f"newer smp-explorer (this one reads format {FORMAT})")
    checksum = doc.pop("checksum", None)
    if checksum != _digest(doc) or doc["format"] != FORMAT:
        raise CheckpointError(f"{path}: corrupt checkpoint description (checksum mismatch)")
    try:
        spec = doc["spec"]
        if Path(doc["given"]).resolve() == Path(spec):
            spec = doc["given"]   # reported as the interrupted run named it
        if spec_hash(_spec_text(spec)) != doc["spec_sha256"]:
            raise CheckpointError(f"{spec}: the spec changed since the checkpoint was written; "
                                  "run `explorer check` again")
        flags = dict(doc["flags"])
        output = request.output or Output(**doc["output"])
        made = CheckRequest(file=spec, output=output, checkpoint=str(d),
                            checkpoint_every=doc["every"], resume=True, **flags)
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: corrupt checkpoint description ({e!r})") from None
    # a request made by this version round-trips exactly: anything else is foreign
    if _flags(made) != flags:
        raise CheckpointError(f"{path}: corrupt checkpoint description (unknown flags)")
    return made
