"""Fixtures of the cross-ledger tests: a fresh pair of ledgers per test (copied from one made per session), crash environments."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from pairs import Pair, make_pair


@pytest.fixture(scope="session")
def pair_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("pair-template")
    (base / "kr").mkdir()
    (base / "hk").mkdir()
    for ledger in make_pair(base):
        ledger.close()
    return base


@pytest.fixture
def pair(tmp_path: Path, pair_template: Path) -> Pair:
    root = tmp_path / "pair"
    shutil.copytree(pair_template, root)
    return Pair(root)


@pytest.fixture
def crash_at() -> Callable[[str], dict[str, str]]:
    """The environment that stops a driver or node at a named step."""
    from wonledger.crossledger import CRASH_ENV, STEPS

    def env(step: str) -> dict[str, str]:
        assert step in STEPS
        return {CRASH_ENV: step}

    return env
