"""The language pipeline as named passes: parse, check declarations, lower steps to actions."""
from __future__ import annotations

from pathlib import Path

from ir.model import Model
from spec.checker import check
from spec.errors import Span, SpecError, SpecErrors
from spec.lower import lower
from spec.parser import parse_text


def model_from_text(text: str, file: str = "<spec>", consts: dict[str, str] | None = None) -> Model:
    tree = parse_text(text, file)
    checked = check(tree, consts)
    return lower(checked, text)


def load_model(path: str | Path, consts: dict[str, str] | None = None) -> Model:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise SpecError(f"{path} is a directory, not a spec file") from None
    except OSError as err:
        raise SpecError(f"cannot read {path}: {err.strerror}") from None
    except UnicodeDecodeError:
        raise SpecError(f"{path} is not UTF-8 text") from None
    return model_from_text(text, str(path), consts)
