"""The type checker is clean: mypy over the whole package, with the project's configuration.

The package's layers live in top-level folders that setuptools maps to `smp_explorer.*`; mypy
does not read that mapping, so the test lays the same tree out with symbolic links first.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import ROOT
from test_layers import FOLDERS

api = pytest.importorskip("mypy.api", reason="mypy is a test dependency: pip install -e '.[test]'")


def test_mypy_reports_no_error(tmp_path: Path) -> None:
    package = tmp_path / "smp_explorer"
    package.mkdir()
    for entry in (ROOT / "smp_explorer").iterdir():
        if entry.suffix == ".py":
            (package / entry.name).symlink_to(entry)
    for folder in FOLDERS:
        (package / folder).symlink_to(ROOT / folder, target_is_directory=True)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        out, err, status = api.run(["--config-file", str(ROOT / "pyproject.toml"),
                                    "--cache-dir", str(tmp_path / ".mypy_cache"),
                                    "-p", "smp_explorer"])
    finally:
        os.chdir(cwd)
    assert status == 0, out + err
