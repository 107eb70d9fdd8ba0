"""The package's layers (pyproject.toml, import-linter) hold, and an upward import breaks them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from rag.settings import REPO_ROOT

LINT = Path(sys.executable).with_name("lint-imports")


def _lint(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT), "--config", str(root / "pyproject.toml"), "--no-cache"],
                          cwd=root, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=120)


def test_layers_are_kept():
    result = _lint(REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_an_upward_import_fails_the_contract(tmp_path: Path):
    shutil.copytree(REPO_ROOT / "rag", tmp_path / "rag",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    clean = tmp_path / "rag" / "corpus" / "clean.py"
    clean.write_text(clean.read_text() + "\nfrom rag.search import retrieve  # noqa\n")
    result = _lint(tmp_path)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout and "rag.corpus.clean -> rag.search.retrieve" in result.stdout


def test_every_subpackage_says_what_it_holds_and_may_import():
    for init in sorted((REPO_ROOT / "rag").glob("*/__init__.py")):
        doc = init.read_text(encoding="utf-8").split('"""')[1]
        lines = doc.strip().splitlines()
        assert len(lines) == 2 and lines[1].startswith("May import"), init
