"""The house's rules, checked on every run: the layers and no import circle (import-linter's
contracts in pyproject.toml), imports at the top of src modules (so none can dodge a circle),
and no module so long that it holds more than one responsibility."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from builders import REPO

ROOT = REPO
SRC = ROOT / "src" / "assay"
MAX_LINES = 600


def _tool(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def test_import_contracts_hold():
    """Layers cli > app > api|web > http > services > store|metrics|demo > formats > geometry,
    services' own layers, and no circle between siblings at any depth."""
    run = subprocess.run(
        [_tool("lint-imports"), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": str(Path(sys.executable).parent)},
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "BROKEN" not in run.stdout and "KEPT" in run.stdout


def test_no_import_inside_a_function_in_src():
    run = subprocess.run(
        [_tool("ruff"), "check", "--select", "PLC0415", "--output-format", "concise", "src"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_no_module_over_600_lines():
    long = {
        str(path.relative_to(SRC)): n
        for path in SRC.rglob("*.py")
        if "migrations" not in path.parts
        and (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}, f"split these by responsibility: {long}"
