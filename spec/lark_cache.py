"""LALR parsers whose tables are cached on disk, so a run does not rebuild them (about 0.4 s).

Lark's own cache (`Lark(..., cache=PATH)`) does the work: the file starts with a SHA-256 of the
grammar text, the options, Lark's version and Python's, and Lark rebuilds the tables (and
rewrites the file) whenever that hash differs, so a changed grammar never meets a stale table.
What this module adds is where the file lives: a directory of the user's own
(`$SMP_EXPLORER_CACHE`, else `$XDG_CACHE_HOME/smp-explorer`, else `~/.cache/smp-explorer`),
created private (0700), never the shared temporary directory, where another user could plant
a pickle. The file name also carries the grammar's hash and Lark's version, so two versions of
the grammar or of Lark (two checkouts, two virtual environments) never overwrite each other's
tables. A directory that cannot be created or written (a read-only home, a sandbox) only costs
the rebuild: Lark ignores a cache it cannot read or write.
"""
from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import lark
from lark import Lark


def cache_dir() -> Path | None:
    """The user's cache directory for parser tables (created on first use); None when there
    is none to be had."""
    env = os.environ.get("SMP_EXPLORER_CACHE")
    if env is not None:
        if not env:            # SMP_EXPLORER_CACHE= (empty): no cache at all
            return None
        base = Path(env)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = Path(xdg) / "smp-explorer" if xdg else Path.home() / ".cache" / "smp-explorer"
    try:
        base.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        return None
    return base if os.access(base, os.W_OK | os.R_OK | os.X_OK) else None


def cache_file(grammar_path: Path, text: str) -> Path | None:
    """Where the tables of the grammar `text` (read from `grammar_path`) are cached."""
    base = cache_dir()
    if base is None:
        return None
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]
    py = "%d.%d" % sys.version_info[:2]
    return base / f"lark-{grammar_path.stem}-{digest}-lark{lark.__version__}-py{py}.tables"


def cached_lalr(grammar_path: Path, **options) -> Lark:
    """`Lark.open(grammar_path, parser="lalr", **options)`, with its tables cached on disk."""
    text = grammar_path.read_text(encoding="utf-8")
    path = cache_file(grammar_path, text)
    if path is not None and path.exists() and not os.access(path, os.R_OK):
        path = None            # someone else's file: build as if there were no cache
    return Lark(text, parser="lalr", cache=str(path) if path is not None else False,
                import_paths=[str(grammar_path.parent)], source_path=str(grammar_path),
                **options)
