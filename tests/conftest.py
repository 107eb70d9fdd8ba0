"""Shared fixtures: the real embedding model (loaded once), a tiny stub corpus
home in a temp dir, and one Assistant over the real corpus for integration tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rag.settings import REPO_ROOT, Settings, load_settings

STUB_CORPUS = Path(__file__).parent / "stub_data" / "corpus"


def stub_settings(home: Path) -> Settings:
    """Fast-preset settings whose home holds a copy of the stub corpus."""
    if not (home / "corpus").exists():
        shutil.copytree(STUB_CORPUS, home / "corpus")
    return load_settings("fast").updated(home=home)


@pytest.fixture(scope="session")
def embedder():
    from rag.embed import Embedder

    return Embedder(load_settings().embedding)


@pytest.fixture
def stub_home(tmp_path: Path) -> Settings:
    return stub_settings(tmp_path)


@pytest.fixture(scope="session")
def stub_assistant(tmp_path_factory, embedder):
    """An Assistant over the stub corpus, built once per session."""
    from rag.assistant import Assistant
    from rag.index import build_index, load_index

    settings = stub_settings(tmp_path_factory.mktemp("stub-home"))
    build_index(settings, embedder)
    return Assistant(settings, embedder, load_index(settings), None)


@pytest.fixture(scope="session")
def real_assistant(embedder):
    """An Assistant over the real corpus/ (builds the index when missing or stale)."""
    from rag.assistant import Assistant
    from rag.index import build_index, load_index

    settings = load_settings().updated(home=REPO_ROOT)
    report = build_index(settings, embedder)
    return Assistant(settings, embedder, load_index(settings), report)
