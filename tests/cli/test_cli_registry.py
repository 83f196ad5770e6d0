"""init, info, participant, account and balance through click's CliRunner."""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from wonledger.store import SCHEMA_HEAD

if TYPE_CHECKING:
    from conftest import Ledger, Run

BALANCE_FIELDS = {
    "id",
    "owner",
    "asset",
    "balance",
    "available",
    "debits_posted",
    "credits_posted",
    "debits_pending",
    "credits_pending",
}


# -- init ----------------------------------------------------------------------


def test_init_loads_the_default_world_signs_its_funding_and_makes_a_key_per_participant(tmp_path: Path, cli_run: Callable[..., Run]) -> None:
    db, keys = f"sqlite:///{tmp_path / 'ledger.db'}", tmp_path / "keys"
    run = cli_run("--db", db, "--keys", str(keys), "init").ok()
    assert run.stdout.startswith("Created ledger wl-")
    info = cli_run("--db", db, "--keys", str(keys), "--json", "info").ok().json()
    # 16 registrations, 5 assets, 3 issuers, 12 accounts opened, 8 funding transactions: all signed entries
    assert info["transactions"] == 44
    assert info["accounts"] == 20
    participants = cli_run("--db", db, "--keys", str(keys), "--json", "participant", "list").ok().json()["participants"]
    ids = {p["id"] for p in participants}
    assert {"bok", "hanriver", "namsan", "kstable", "kpay", "harbour", "victoria", "peakfx", "usdco", "alice", "seoul-exports", "kowloon-supply"} <= ids
    assert {p.stem for p in keys.glob("*.pem")} == ids | {f"_operator-{info['ledger']}"}  # and the operator's, for checkpoints
    assert cli_run("--db", db, "--keys", str(keys), "verify").exit_code == 0


def test_init_with_the_empty_world_makes_a_ledger_with_nobody_in_it(tmp_path: Path, cli_run: Callable[..., Run]) -> None:
    db, keys = f"sqlite:///{tmp_path / 'ledger.db'}", tmp_path / "keys"
    info = cli_run("--db", db, "--keys", str(keys), "--json", "init", "--world", "empty").ok().json()
    assert list(info) == ["ledger", "db", "schema", "transactions", "accounts", "operator_key"]
    assert (info["transactions"], info["accounts"]) == (0, 0)
    assert cli_run("--db", db, "--keys", str(keys), "--json", "participant", "list").ok().json() == {"participants": []}
    assert cli_run("--db", db, "--keys", str(keys), "--json", "balance").ok().json() == {"accounts": []}
    assert cli_run("--db", db, "--keys", str(keys), "--json", "verify").ok().json() == {"ok": True, "transactions": 0, "problems": []}


def test_init_twice_refuses_cleanly_and_keeps_the_first_ledger_and_its_keys(wl: Ledger) -> None:
    before = wl.state()
    ledger_id = wl.id()
    key_bytes = {p.name: p.read_bytes() for p in wl.keys.glob("*.pem")}
    run = wl("init")
    message = run.error("ALREADY_EXISTS", exit_code=2)
    assert "already holds a ledger" in message
    assert run.stdout == ""
    assert wl.id() == ledger_id
    assert wl.state() == before
    assert {p.name: p.read_bytes() for p in wl.keys.glob("*.pem")} == key_bytes


def test_init_with_an_unknown_world_is_a_usage_error(tmp_path: Path, cli_run: Callable[..., Run]) -> None:
    run = cli_run("--db", f"sqlite:///{tmp_path / 'x.db'}", "--keys", str(tmp_path / "k"), "init", "--world", "mars")
    run.error("BAD_INPUT", exit_code=2)
    assert not (tmp_path / "x.db").exists()


# -- info ----------------------------------------------------------------------


def test_info_json_has_exactly_the_ledger_db_schema_counts_and_operator_key_in_that_order(wl: Ledger) -> None:
    info = wl("--json", "info").ok().json()
    assert list(info) == ["ledger", "db", "schema", "transactions", "accounts", "operator_key"]
    assert info["ledger"].startswith("wl-")
    assert info["db"] == wl.db
    assert info["schema"] == SCHEMA_HEAD
    assert (info["transactions"], info["accounts"]) == (44, 20)


def test_info_json_may_also_follow_the_command(wl: Ledger) -> None:
    assert wl("info", "--json").ok().json() == wl("--json", "info").ok().json()


def test_info_for_people_names_the_ledger_and_its_counts(wl: Ledger) -> None:
    text = wl("info").ok().stdout
    assert wl.id() in text
    assert "transactions  44" in text
    assert "accounts      20" in text


# -- participants ----------------------------------------------------------------


def test_participant_list_shows_each_participant_with_kind_jurisdiction_and_residency(wl: Ledger) -> None:
    people = {p["id"]: p for p in wl("--json", "participant", "list").ok().json()["participants"]}
    assert people["kstable"]["kind"] == "bank_consortium"
    assert people["kowloon-supply"]["jurisdiction"] == "HK"
    assert people["alice"]["resident"] is True
    text = wl("participant", "list").ok().stdout
    assert "seoul-exports" in text and "corporate" in text


def test_participant_show_names_the_participants_accounts(wl: Ledger) -> None:
    shown = wl("--json", "participant", "show", "kstable").ok().json()
    assert shown["id"] == "kstable"
    assert set(shown["accounts"]) == {"kstable:KRWS", "kstable:dKRW.hanriver:reserve", "kstable:dKRW.namsan:reserve"}
    assert "kstable:KRWS" in wl("participant", "show", "kstable").ok().stdout


def test_participant_add_registers_a_resident_by_default_and_makes_a_private_key(wl: Ledger) -> None:
    added = wl("--json", "participant", "add", "busan-fish", "--kind", "corporate", "--jurisdiction", "kr").ok().json()
    assert (added["id"], added["kind"], added["jurisdiction"], added["resident"]) == ("busan-fish", "corporate", "KR", True)
    assert stat.S_IMODE(wl.key("busan-fish").stat().st_mode) == 0o600
    assert wl("--json", "participant", "show", "busan-fish").ok().json()["accounts"] == []


def test_participant_add_with_non_resident_records_a_non_resident(wl: Ledger) -> None:
    wl("participant", "add", "tourist", "--kind", "individual", "--jurisdiction", "KR", "--non-resident").ok()
    assert wl("--json", "participant", "show", "tourist").ok().json()["resident"] is False
    wl("participant", "add", "local", "--kind", "individual", "--jurisdiction", "KR", "--resident").ok()
    assert wl("--json", "participant", "show", "local").ok().json()["resident"] is True


def test_participant_add_refuses_an_existing_id_and_keeps_its_key(wl: Ledger) -> None:
    key = wl.key("alice").read_bytes()
    wl("participant", "add", "alice", "--kind", "individual", "--jurisdiction", "KR").error("ALREADY_EXISTS", exit_code=2)
    assert wl.key("alice").read_bytes() == key


def test_participant_add_refuses_a_bad_id_kind_or_jurisdiction_without_leaving_a_key(wl: Ledger) -> None:
    for args in (
        ("Upper", "--kind", "individual", "--jurisdiction", "KR"),
        ("has space", "--kind", "individual", "--jurisdiction", "KR"),
        ("bob", "--kind", "alien", "--jurisdiction", "KR"),
        ("bob", "--kind", "individual", "--jurisdiction", "KOR"),
    ):
        wl("participant", "add", *args).error("BAD_INPUT", exit_code=2)
    assert not list(wl.keys.glob("bob*")) and not wl.key("has space").exists()
    assert "bob" not in {p["id"] for p in wl("--json", "participant", "list").ok().json()["participants"]}


def test_participant_show_of_an_unknown_id_is_unknown_participant(wl: Ledger) -> None:
    wl("participant", "show", "nobody").error("UNKNOWN_PARTICIPANT", exit_code=2)


# -- accounts ----------------------------------------------------------------------


def test_account_open_makes_an_empty_account_of_the_owner_in_the_asset(wl: Ledger) -> None:
    opened = wl("--json", "account", "open", "alice", "KRWS").ok().json()
    assert opened == {
        "id": "alice:KRWS",
        "owner": "alice",
        "asset": "KRWS",
        "balance": 0,
        "available": 0,
        "debits_posted": 0,
        "credits_posted": 0,
        "debits_pending": 0,
        "credits_pending": 0,
    }
    assert "alice:KRWS" in {a["id"] for a in wl("--json", "account", "list", "--owner", "alice").ok().json()["accounts"]}


def test_account_open_with_a_label_makes_a_second_account_in_one_asset(wl: Ledger) -> None:
    assert wl("account", "open", "alice", "dKRW.hanriver", "--label", "savings").ok().stdout.strip() == "opened alice:dKRW.hanriver:savings"
    ids = [a["id"] for a in wl("--json", "account", "list", "--owner", "alice").ok().json()["accounts"]]
    assert ids == ["alice:dKRW.hanriver", "alice:dKRW.hanriver:savings"]


def test_account_open_refuses_an_account_that_exists_an_unknown_owner_and_an_unknown_asset(wl: Ledger) -> None:
    before = wl.state()
    wl("account", "open", "alice", "dKRW.hanriver").error("ALREADY_EXISTS", exit_code=2)
    wl("account", "open", "nobody", "KRWS").error("UNKNOWN_PARTICIPANT", exit_code=2)
    wl("account", "open", "alice", "NOPE").error("UNKNOWN_ASSET", exit_code=2)
    assert wl.state() == before


def test_account_list_filters_by_owner_and_by_asset(wl: Ledger) -> None:
    everything = wl("--json", "account", "list").ok().json()["accounts"]
    assert len(everything) == 20
    by_asset = wl("--json", "account", "list", "--asset", "HKDS").ok().json()["accounts"]
    assert {a["id"] for a in by_asset} == {"victoria:HKDS", "peakfx:HKDS"}
    text = wl("account", "list", "--owner", "peakfx").ok().stdout
    assert "peakfx:USDS" in text and "alice" not in text


# -- balance -----------------------------------------------------------------------


def test_balance_json_has_exactly_the_fields_of_the_design_for_every_account(wl: Ledger) -> None:
    accounts = wl("--json", "balance").ok().json()["accounts"]
    assert len(accounts) == 20
    for a in accounts:
        assert set(a) == BALANCE_FIELDS
        assert all(type(a[f]) is int for f in BALANCE_FIELDS - {"id", "owner", "asset"})
        assert a["balance"] == a["credits_posted"] - a["debits_posted"]
        assert a["available"] == a["balance"] - a["debits_pending"]


def test_balance_of_every_asset_sums_to_zero(wl: Ledger) -> None:
    totals: dict[str, int] = {}
    for a in wl("--json", "balance").ok().json()["accounts"]:
        totals[a["asset"]] = totals.get(a["asset"], 0) + a["balance"]
    assert totals and set(totals.values()) == {0}


def test_balance_shows_the_funding_of_the_default_world_in_minor_units(wl: Ledger) -> None:
    b = wl.balances()
    assert b["alice:dKRW.hanriver"]["balance"] == 5_000_000
    assert b["seoul-exports:dKRW.namsan"]["balance"] == 2_000_000_000
    assert b["kowloon-supply:dHKD.harbour"]["balance"] == 100_000_00
    assert b["peakfx:KRWS"]["balance"] == 10_000_000_000
    assert b["peakfx:HKDS"]["balance"] == 10_000_000_00
    assert b["kstable:KRWS"]["balance"] == -10_000_000_000


def test_balance_names_accounts_or_owners_and_prints_major_units_for_people(wl: Ledger) -> None:
    named = wl("--json", "balance", "alice", "kstable:dKRW.hanriver:reserve").ok().json()["accounts"]
    assert [a["id"] for a in named] == ["alice:dKRW.hanriver", "kstable:dKRW.hanriver:reserve"]
    text = wl("balance", "kowloon-supply").ok().stdout
    row = text.splitlines()[1].split()
    assert row[:4] == ["kowloon-supply:dHKD.harbour", "dHKD.harbour", "100,000.00", "100,000.00"]


def test_balance_of_an_unknown_account_or_owner_is_refused(wl: Ledger) -> None:
    wl("balance", "nobody:KRWS").error("UNKNOWN_ACCOUNT", exit_code=2)
    wl("balance", "nobody").error("UNKNOWN_PARTICIPANT", exit_code=2)
