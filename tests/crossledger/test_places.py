"""Where a ledger named by a directory keeps its database and keys, as the driver and the pair check read it."""

from __future__ import annotations

from pathlib import Path

import pytest

from wonledger import BadInput
from wonledger.crossledger.client import LedgerPlace


def _ledger_folder(root: Path, *key_folders: str) -> Path:
    (root / "wonledger.db").touch()
    for name in key_folders:
        (root / name).mkdir()
    return root


def test_a_ledger_made_by_init_inside_its_directory_is_found_with_the_keys_init_made(tmp_path: Path) -> None:
    place = LedgerPlace.parse(str(_ledger_folder(tmp_path, "wonledger-keys")))
    assert place.keys == str(tmp_path / "wonledger-keys")
    assert place.url == f"sqlite:///{tmp_path / 'wonledger.db'}"


def test_a_directory_with_a_keys_folder_uses_it_before_any_other(tmp_path: Path) -> None:
    assert LedgerPlace.parse(str(_ledger_folder(tmp_path, "keys", "wonledger-keys"))).keys == str(tmp_path / "keys")


def test_keys_named_apart_win_over_the_directory_s_own(tmp_path: Path) -> None:
    assert LedgerPlace.parse(str(_ledger_folder(tmp_path, "wonledger-keys")), "elsewhere").keys == "elsewhere"


def test_a_directory_holding_no_ledger_is_refused_in_words(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match=r"holds no wonledger\.db"):
        LedgerPlace.parse(str(tmp_path))
