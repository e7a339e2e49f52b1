"""pyproject.toml installs every subpackage and data file under the one name `smp_explorer`.

A package or grammar missing from the list works from the checkout (the editable install maps
whole folders) and breaks a regular `pip install .`; this test catches it from the tree.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ROOT

tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from 3.11")


def _config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]


def _folder(package: str, package_dir: dict[str, str]) -> Path:
    parts = package.split(".")
    for n in range(len(parts), 0, -1):
        head = ".".join(parts[:n])
        if head in package_dir:
            return ROOT / package_dir[head] / Path(*parts[n:])
    raise AssertionError(f"{package} has no folder in package-dir")


def test_every_folder_with_an_init_is_a_listed_package() -> None:
    config = _config()
    listed = set(config["packages"])
    folders = {package: _folder(package, config["package-dir"]) for package in listed}
    for package, folder in folders.items():
        assert (folder / "__init__.py").is_file(), f"{package}: {folder} is not a package"
    roots = {_folder(p, config["package-dir"]) for p in config["package-dir"]}
    found = {init.parent for root in roots for init in root.rglob("__init__.py")}
    missing = sorted(str(f.relative_to(ROOT)) for f in found - set(folders.values()))
    assert not missing, f"packages not listed in pyproject.toml: {missing}"


def test_grammars_and_preludes_are_package_data() -> None:
    config = _config()
    data = config["package-data"]
    for package in config["packages"]:
        folder = _folder(package, config["package-dir"])
        for path in folder.iterdir():
            if path.suffix in (".lark", ".spec"):
                patterns = data.get(package, [])
                assert any(path.match(p) for p in patterns), \
                    f"{path.relative_to(ROOT)} is not in package-data of {package}"
