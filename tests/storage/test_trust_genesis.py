"""A genesis only where an upgrade puts it, freezing only what signed entries could have made.

The issue's two attacks on the registry a replay starts from, and the class
around them: an unsigned ``_genesis`` appended after a fresh ledger's signed
registry (on SQLite and PostgreSQL, with ``verify`` plain and anchored to a
checkpoint saved before the tamper and to the operator key); a genesis under
another id or a second one; a genesis where an upgrade would put it (the
first entry of a ledger) freezing what no signed entry could have made; and
a schema-0003 ledger edited before its upgrade, which the upgrade refuses to
freeze, naming what could not have been made, for each kind of thing a
registry holds; an upgraded ledger marked unsigned again (not frozen
twice); and the issue's second attack, the control tables rebuilt after a
transfer abroad was appended by hand (where the controls judge from is
derived from the journal, so the rebuild cannot move it).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.storage.forge import append_entry, genesis_tx
from tests.storage.test_migrations import legacy_ledger
from wonledger import Anchor, Ledger, read_checkpoint

FORGED = "hanriver:dKRW.hanriver:x"


def forge_account_by_genesis(ledger: Ledger, raw, genesis_id: str = "_genesis") -> None:
    """Append an unsigned genesis declaring an account that may overdraw, and put the account in the table for the book to use."""
    account = {"id": FORGED, "owner": "hanriver", "asset": "dKRW.hanriver", "flags": [], "label": "x"}
    tx = genesis_tx(ledger.id, [account])
    tx["id"] = genesis_id
    append_entry(raw(ledger), tx, [])
    raw(ledger).execute(
        "INSERT INTO accounts (id, owner, asset, flags, label, debits_posted, credits_posted, debits_pending, credits_pending) "
        f"VALUES ('{FORGED}', 'hanriver', 'dKRW.hanriver', '', 'x', 0, 0, 0, 0)"
    )


def test_a_genesis_appended_after_the_signed_registry_is_named_plain_and_anchored(ledger: Ledger, raw, wonledger, tmp_path: Path) -> None:
    """The issue's first attack: 10^12 drawn through the ordinary CLI from an account an appended genesis declared."""
    url, keys = ledger._store.url, ledger._keys.directory
    saved = tmp_path / "cp.json"
    assert wonledger(url, "checkpoint", "--out", str(saved), keys=keys).returncode == 0
    operator = ledger.proofs.operator_key()
    forge_account_by_genesis(ledger, raw)
    drawn = wonledger(url, "transfer", FORGED, "alice:dKRW.hanriver", "1,000,000,000,000", keys=keys)
    assert drawn.returncode == 0, drawn.stderr  # the book's tables were edited: the book is misled, verify is not
    for anchor in (None, Anchor(operator, read_checkpoint(saved.read_bytes())), Anchor(operator)):
        problems = ledger.verify(anchor=anchor).problems
        assert [p.kind for p in problems if p.tx == "_genesis"] == ["genesis"], problems
        assert "after signed registry entries" in next(p.detail for p in problems if p.tx == "_genesis")
        assert any(p.kind == "rules" and "UNKNOWN_ACCOUNT" in p.detail for p in problems), problems  # the draw, refused
    run = wonledger(url, "verify", "--checkpoint", str(saved), "--operator-key", operator, keys=keys)
    assert run.returncode == 3 and "problem: genesis: tx _genesis" in run.stdout


def test_a_genesis_under_another_id_is_named(ledger: Ledger, raw) -> None:
    forge_account_by_genesis(ledger, raw, genesis_id="_genesis2")
    problems = ledger.verify().problems
    assert any(p.kind == "genesis" and p.tx == "_genesis2" and "has the id _genesis" in p.detail for p in problems), problems


KEYS = ("qDRAUdky0k6jZxvNtDSIzUNue4UdgtOY772UgyHXsT8", "W2sSAp-wgCA6nE3v0_BZZSxW7F8FMzk502qFQIsS4C8", "BgvgCna32Q_On6kuIDrilY3roFCfqHb-0RzTgYluAYU")


def small_registry() -> dict:
    """A registry signed entries could have made: a bank of Korea, a customer of it, its deposit token and their accounts."""
    return {
        "participants": [
            {"id": "bank", "kind": "bank", "jurisdiction": "KR", "resident": True, "registrar": ""},
            {"id": "mallory", "kind": "individual", "jurisdiction": "KR", "resident": True, "registrar": "bank"},
            {"id": "abroad", "kind": "bank", "jurisdiction": "HK", "resident": True, "registrar": ""},
        ],
        "keys": [{"participant": p, "public_key": k, "valid_from": "1970-01-01T00:00:00.000000Z"} for p, k in zip(("bank", "mallory", "abroad"), KEYS, strict=True)],
        "assets": [{"code": "dKRW.bank", "currency": "KRW", "kind": "deposit_token", "exponent": 0, "issuer": "bank"}],
        "issuers": [],
        "accounts": [
            {"id": "bank:dKRW.bank", "owner": "bank", "asset": "dKRW.bank", "flags": ["issuance"], "label": ""},
            {"id": "mallory:dKRW.bank", "owner": "mallory", "asset": "dKRW.bank", "flags": ["no_overdraft"], "label": ""},
        ],
    }


def spoil(registry: dict, part: str, index: int, **changes: object) -> dict:
    registry[part][index].update(changes)
    return registry


FROZEN_EDITS = {
    # a registry a genesis at a ledger's first entry freezes: (how it is spoiled, what verify names)
    "a customer account that may overdraw": (lambda r: spoil(r, "accounts", 1, flags=[]), "account mallory:dKRW.bank: it may overdraw"),
    "a participant registered by a non-regulator": (
        lambda r: spoil(r, "participants", 2, registrar="mallory"), "participant abroad: a bank in HK is registered by its regulator hkma, not by mallory",
    ),
    "a customer registered by a bank abroad": (
        lambda r: spoil(r, "participants", 1, registrar="abroad"), "participant mallory: an individual in KR is registered by a bank of KR",
    ),
    "a participant of no jurisdiction the policy knows": (lambda r: spoil(r, "participants", 2, jurisdiction="XX"), "participant abroad: 'XX' is no jurisdiction"),
    "a key of someone not registered": (
        lambda r: {**r, "keys": r["keys"] + [{"participant": "ghost", "public_key": KEYS[0], "valid_from": "1970-01-01T00:00:00.000000Z"}]},
        "keys of ghost: no such participant",
    ),
    "a retired last key": (
        lambda r: spoil(r, "keys", 1, retired_at="2026-01-01T00:00:00.000000Z", reason="revoked"), "keys of mallory: its last key is retired",
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("what", sorted(FROZEN_EDITS))
def test_a_genesis_where_an_upgrade_puts_it_freezing_what_no_signed_entry_could_make_is_named(make_ledger, raw, what: str) -> None:
    """The first entry of a ledger (as of a ledger whose old journal was empty): its place is right, its registry is not."""
    empty = make_ledger("empty")
    spoiled, named = FROZEN_EDITS[what]
    append_entry(raw(empty), genesis_tx(empty.id, **spoiled(small_registry())), [], at="2026-01-01T00:00:00.000000Z")
    problems = empty.verify().problems
    found = [p.detail for p in problems if p.kind == "genesis"]
    assert len(found) == 1 and named in found[0], problems


def test_the_same_registry_unspoiled_is_seeded_with_a_note(make_ledger, raw) -> None:
    """The test above has teeth: the registry it spoils is one a genesis may freeze (only the tables, not written here, differ)."""
    empty = make_ledger("empty")
    append_entry(raw(empty), genesis_tx(empty.id, **small_registry()), [], at="2026-01-01T00:00:00.000000Z")
    report = empty.verify()
    assert {p.kind for p in report.problems} <= {"participant", "key", "asset", "account", "counters"}, report.problems
    assert report.notes and "_genesis" in report.notes[0]


# -- a schema-0003 ledger edited before its upgrade -------------------------------------------


LEGACY_EDITS = {
    # what an edit before the upgrade makes: (SQL on the 0003 database, what the refusal names)
    "a customer account that may overdraw": ("UPDATE accounts SET flags = '' WHERE id = 'alice:dKRW.hanriver'", "account alice:dKRW.hanriver: it may overdraw"),
    "a second issuance account": ("UPDATE accounts SET flags = 'issuance' WHERE id = 'alice:KRWS'", "account alice:KRWS: only kstable:KRWS issues KRWS"),
    "a regulator that is no authority": ("UPDATE participants SET kind = 'regulator' WHERE id = 'kpay'", "participant kpay: a regulator registers only as the authority"),
    "an issuer that is not eligible": ("UPDATE issuers SET issuer = 'kpay' WHERE asset = 'KRWS'", "issuer of KRWS: KRWS is not a stablecoin issued by kpay"),
    "an ineligible issuer of its own coin": (
        "UPDATE participants SET kind = 'nonbank' WHERE id = 'kstable'", "issuer of KRWS: kstable is a nonbank in KR; in phase 1 only bank, bank_consortium"
    ),
    "a deposit token held abroad": (
        "UPDATE accounts SET owner = 'kowloon-supply', id = 'kowloon-supply:dKRW.hanriver' WHERE id = 'bob:dKRW.hanriver'",
        "account kowloon-supply:dKRW.hanriver: kowloon-supply (a resident of HK) may not hold dKRW.hanriver",
    ),
    "a reserve in the issuer's own liability": (
        "UPDATE accounts SET owner = 'hanriver', id = 'hanriver:dKRW.hanriver:reserve' WHERE id = 'kstable:dKRW.hanriver:reserve'",
        "account hanriver:dKRW.hanriver:reserve: hanriver issues no stablecoin, so it keeps no reserve",
    ),
    "a key chain with a gap": (
        "UPDATE participant_keys SET retired_at = '2026-01-01T00:00:00.000000Z' WHERE participant = 'alice' AND retired_at IS NOT NULL",
        "keys of alice: key 1 is not retired when key 2 starts to sign",
    ),
    "a participant with no key": ("DELETE FROM participant_keys WHERE participant = 'kpay'", "participant kpay: it has no key"),
    "a stablecoin of the wrong exponent": ("UPDATE assets SET exponent = 4 WHERE code = 'HKDS'", "asset HKDS: a HKD stablecoin has exponent 2"),
    "a deposit token issued by a nonbank": ("UPDATE assets SET issuer = 'kpay' WHERE code = 'dKRW.namsan'", "asset dKRW.namsan: a deposit_token is issued by a bank"),
}


@pytest.mark.slow
@pytest.mark.parametrize("what", sorted(LEGACY_EDITS))
def test_a_legacy_registry_no_signed_entry_could_have_made_is_not_frozen_by_the_upgrade(tmp_path: Path, wonledger, what: str) -> None:
    sql, named = LEGACY_EDITS[what]
    url, keys = legacy_ledger(tmp_path)
    conn = sqlite3.connect(tmp_path / "ledger.db")
    with conn:
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute(sql)
    conn.close()
    run = wonledger(url, "balance", "alice", keys=keys)
    assert run.returncode == 3, run.stdout + run.stderr
    assert run.stderr.startswith("error: INTEGRITY: this ledger was made before schema 0004 and cannot be upgraded"), run.stderr
    assert named in run.stderr, run.stderr
    conn = sqlite3.connect(tmp_path / "ledger.db")
    frozen = conn.execute("SELECT count(*) FROM journal WHERE kind = 'genesis'").fetchone()[0]
    conn.close()
    assert frozen == 0  # and trying again refuses again: nothing was written to the journal
    assert wonledger(url, "verify", keys=keys).returncode == 3


def test_the_issues_legacy_attack_overdrawing_from_a_frozen_overdraft_flag_is_refused_at_the_upgrade(tmp_path: Path, wonledger) -> None:
    """alice's account edited to overdraw before the upgrade: the upgrade stops, so nobody overdraws through it."""
    url, keys = legacy_ledger(tmp_path)
    conn = sqlite3.connect(tmp_path / "ledger.db")
    with conn:
        conn.execute("UPDATE accounts SET flags = '' WHERE id = 'alice:dKRW.hanriver'")
    conn.close()
    run = wonledger(url, "transfer", "alice:dKRW.hanriver", "seoul-exports:dKRW.hanriver", "1,000,000,000,000", keys=keys)
    assert run.returncode == 3 and "alice:dKRW.hanriver: it may overdraw" in run.stderr
    conn = sqlite3.connect(tmp_path / "ledger.db")
    with conn:
        conn.execute("UPDATE accounts SET flags = 'no_overdraft' WHERE id = 'alice:dKRW.hanriver'")  # the operator puts it right
    conn.close()
    again = wonledger(url, "transfer", "alice:dKRW.hanriver", "seoul-exports:dKRW.hanriver", "1,000,000,000,000", keys=keys)
    assert again.returncode == 1 and "INSUFFICIENT_FUNDS" in again.stderr
    done = wonledger(url, "--json", "verify", keys=keys)
    assert done.returncode == 0 and json.loads(done.stdout)["ok"]


def test_a_frozen_registry_already_in_a_journal_that_no_signed_entry_could_have_made_is_named(tmp_path: Path) -> None:
    """A genesis written by an earlier wonledger, which did not check: verify names what it froze that could not have been made."""
    url, keys = legacy_ledger(tmp_path)
    Ledger.open(url, keys).close()
    conn = sqlite3.connect(tmp_path / "ledger.db")
    body = json.loads(conn.execute("SELECT body FROM journal WHERE id = '_genesis'").fetchone()[0])
    conn.close()
    for a in body["snapshot"]["accounts"]:
        if a["id"] == "alice:dKRW.hanriver":
            a["flags"] = []
    # Rewritten and re-chained from the genesis on (what a ledger upgraded by an older wonledger could hold).
    from tests.storage.conftest import Raw

    raw = Raw(url)
    seq = raw.scalar("SELECT seq FROM journal WHERE id = '_genesis'")
    later = raw.scalar("SELECT count(*) FROM journal WHERE seq > :s", s=seq)
    assert later == 0
    at = raw.scalar("SELECT at FROM journal WHERE id = '_genesis'")
    raw.execute("DELETE FROM journal WHERE id = '_genesis'")
    prev = raw.scalar("SELECT hash FROM journal WHERE seq = :s", s=seq - 1)
    raw.execute("UPDATE head SET seq = :s, hash = :h", s=seq - 1, h=prev)
    append_entry(raw, body, [], at=at)
    raw.execute("UPDATE accounts SET flags = '' WHERE id = 'alice:dKRW.hanriver'")
    raw.engine.dispose()
    lg = Ledger.open(url, keys)
    try:
        problems = lg.verify().problems
        assert [p.kind for p in problems] == ["genesis"], problems
        assert "account alice:dKRW.hanriver: it may overdraw" in problems[0].detail
    finally:
        lg.close()


def test_an_upgraded_ledger_marked_unsigned_again_is_not_frozen_twice(tmp_path: Path, wonledger) -> None:
    """A crafted database: an upgraded schema-0003 ledger with the mark of an unsigned registry put back. The second genesis is refused."""
    url, keys = legacy_ledger(tmp_path)
    Ledger.open(url, keys).close()
    conn = sqlite3.connect(tmp_path / "ledger.db")
    with conn:
        conn.execute("INSERT INTO meta (key, value) VALUES ('registry_unsigned', 'yes')")
    conn.close()
    run = wonledger(url, "balance", "alice", keys=keys)
    assert run.returncode == 3 and "one genesis entry at most" in run.stderr, run.stderr


def test_the_projects_own_control_rebuild_cannot_move_where_the_controls_judge(ledger: Ledger, raw) -> None:
    """The issue's second attack: a transfer abroad the book refused, appended by hand, then the control tables rebuilt.

    Where the controls start to judge is derived from the journal by every
    replay (the rebuild's too), so the rebuild adds no row for it and verify
    names it, on SQLite and PostgreSQL.
    """
    from tests.storage.forge import signed_wire
    from wonledger.book.upgrade import rebuild_controls

    ledger.stablecoins.mint("KRWS", 2_000_000, "alice", "dKRW.hanriver")
    ledger.registry.open_account("kowloon-supply", "KRWS")
    tx = {"ledger": ledger.id, "id": "forged-abroad", "kind": "transfer", "memo": "",
          "legs": [{"debit": "alice:KRWS", "credit": "kowloon-supply:KRWS", "asset": "KRWS", "amount": 2_000_000}]}
    append_entry(raw(ledger), tx, signed_wire(ledger._keys, tx, ["alice"]))
    raw(ledger).execute("UPDATE accounts SET debits_posted = debits_posted + 2000000 WHERE id = 'alice:KRWS'")
    raw(ledger).execute("UPDATE accounts SET credits_posted = credits_posted + 2000000 WHERE id = 'kowloon-supply:KRWS'")
    rebuild_controls(ledger._book)
    assert raw(ledger).scalar("SELECT count(*) FROM meta WHERE key = 'controls_from_seq'") == 0
    problems = ledger.verify().problems
    assert [p.kind for p in problems if p.tx == "forged-abroad"] == ["rules"], problems
    assert "TRAVEL_RULE" in next(p.detail for p in problems if p.tx == "forged-abroad")
