"""The language pipeline as named passes: parse, check declarations, lower steps to actions."""
from __future__ import annotations

from pathlib import Path

from smp_explorer.ir.model import Model
from smp_explorer.spec.checker import check
from smp_explorer.spec.errors import SpecError
from smp_explorer.spec.lower import lower
from smp_explorer.spec.parser import parse_text


def model_from_text(text: str, file: str = "<spec>", consts: dict[str, str] | None = None,
                    memory: str | None = None, buffer: int | None = None) -> Model:
    """Parse, check declarations, lower every step to guarded actions under a memory model
    (default: the one the spec names, else sc); `buffer` is the store-buffer capacity."""
    tree = parse_text(text, file)
    checked = check(tree, consts)
    return lower(checked, text, memory, buffer)


def load_model(path: str | Path, consts: dict[str, str] | None = None,
               memory: str | None = None, buffer: int | None = None) -> Model:
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
    return model_from_text(text, str(path), consts, memory, buffer)
