"""Argument types shared by the subcommands: each says what is allowed when a value is bad."""
from __future__ import annotations

import argparse

from smp_explorer.spec.memory import MODELS

MEMORY_MODELS = tuple(MODELS)


def whole_number(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected a number >= {minimum}, got {value}")
        return value
    return parse


positive_int = whole_number(1)
non_negative_int = whole_number(0)


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text}")
    return value


def const_assignment(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip() or not value.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name.strip(), value.strip()


def memory_list(text: str) -> list[str]:
    """`sc,tso,...`: known memory models, each once, in the order given."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    bad = [n for n in names if n not in MEMORY_MODELS]
    if bad or not names:
        raise argparse.ArgumentTypeError(
            f"unknown memory model {', '.join(bad) or repr(text)}; allowed: "
            f"{', '.join(MEMORY_MODELS)} (comma-separated)")
    return list(dict.fromkeys(names))
