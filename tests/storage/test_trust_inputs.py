"""Every value `verify` or the book reads that is not a journal entry, edited in the database: each is named, refused, or said to be trusted.

The journal is the whole truth; everything else a ledger's database holds is
one of (docs/trust.md, "What verify trusts"):

- **derived** from the journal, and compared with a replay of it by
  ``verify`` (registry tables, accounts and their counters, holds, the
  control tables, which quotes were taken, the chain head, the stored legs);
- **signed** (each offered quote by its dealer, each checkpoint by the
  operator, whose key ``verify --operator-key`` pins) and checked;
- **read only to open the ledger** (the schema revision, the ledger's id, the
  mark of a registry kept outside the journal), where an edit is refused or
  makes every entry fail;
- **kept for people, read by no rule** (the record of refusals), which
  ``verify`` says it trusts unchecked, and an old key no code reads any more.

:data:`VALUES` is that list as a table: each row edits one value in a copy
of a busy ledger, on SQLite and on PostgreSQL, and says what must happen:
``verify`` names it (also anchored to a checkpoint saved before the edit and
to the operator's key), the ledger refuses to open, or ``verify`` says it
trusted it unchecked (and a later decision is the same). The walk at the
end fails when a table of the schema, or a meta key a ledger holds, has no
row here: a new value read beside the journal needs its row.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy

from tests.conftest import pg_base_url
from tests.storage.conftest import Raw
from tests.storage.forge import append_entry, genesis_tx, signed_wire
from wonledger import Anchor, Ledger, LedgerError, read_checkpoint
from wonledger.domain.signing import KeyStore
from wonledger.store import OPERATOR_META, UNSIGNED_META
from wonledger.store.repository import LEDGER_ID_META
from wonledger.store.tables import metadata

NAMED, REFUSED, TRUSTED, NOTED = "named", "refused", "trusted", "noted"
ALICE = "alice:dKRW.hanriver"


def busy(ledger: Ledger, out: Path) -> None:
    """Rows in every table: registry entries, holds, a swap at a stored offer, a send abroad, a refusal, a checkpoint saved to ``out``."""
    ledger.registry.add_participant("carol", "individual", "KR", by="hanriver")
    ledger.registry.open_account("seoul-exports", "dKRW.hanriver")
    ledger.payments.transfer(ALICE, "seoul-exports:dKRW.hanriver", 100_000, tx_id="t-1")
    ledger.payments.transfer(ALICE, "seoul-exports:dKRW.hanriver", 50_000, tx_id="h-1", hold_timeout_s=3600)
    ledger.payments.transfer(ALICE, "seoul-exports:dKRW.hanriver", 70_000, tx_id="h-2", hold_timeout_s=3600)
    ledger.holds.post("h-2", 20_000, tx_id="p-2")
    ledger.stablecoins.mint("HKDS", 500_00, "kowloon-supply", "dHKD.harbour")
    taken = ledger.crossborder.quote("HKDS", "USDS", 100_00)
    ledger.crossborder.swap("kowloon-supply", 100_00, "HKDS", "USDS", quote_id=taken.quote_id, tx_id="swap-1")
    ledger.crossborder.quote("HKDS", "USDS", 200_00)  # an offer nobody takes
    ledger.crossborder.send("alice", "kowloon-supply", 2_000_000, "HKDS", tx_id="send-1")
    ledger.stablecoins.mint("KRWS", 2_000_000, "alice", "dKRW.hanriver")
    ledger.registry.open_account("kowloon-supply", "KRWS")
    with pytest.raises(LedgerError):
        ledger.payments.transfer(ALICE, "seoul-exports:dKRW.hanriver", 10**12, tx_id="too-much")  # a refusal on record
    checkpoint, _ = ledger.proofs.checkpoint()
    out.write_text(json.dumps(checkpoint.to_json()))
    assert ledger.verify().ok


def hand_made_transfer_abroad(target: Target) -> None:
    """The issue's attack: a transfer abroad the controls refuse (no travel data), appended by hand, and meta moved past it."""
    tx = {"ledger": target.ledger_id, "id": "forged-abroad", "kind": "transfer", "memo": "",
          "legs": [{"debit": "alice:KRWS", "credit": "kowloon-supply:KRWS", "asset": "KRWS", "amount": 2_000_000}]}
    seq = append_entry(target.raw, tx, signed_wire(KeyStore(target.keys), tx, ["alice"]))
    target.raw.execute("UPDATE accounts SET debits_posted = debits_posted + 2000000 WHERE id = 'alice:KRWS'")
    target.raw.execute("UPDATE accounts SET credits_posted = credits_posted + 2000000 WHERE id = 'kowloon-supply:KRWS'")
    target.raw.execute("INSERT INTO meta (key, value) VALUES ('controls_from_seq', :v)", v=str(seq + 100))


def misplaced_genesis(target: Target) -> None:
    """The issue's attack: an unsigned genesis appended after the signed registry, declaring an account that may overdraw."""
    account = {"id": "hanriver:dKRW.hanriver:x", "owner": "hanriver", "asset": "dKRW.hanriver", "flags": [], "label": "x"}
    append_entry(target.raw, genesis_tx(target.ledger_id, [account]), [])
    target.raw.execute(
        "INSERT INTO accounts (id, owner, asset, flags, label, debits_posted, credits_posted, debits_pending, credits_pending) "
        "VALUES ('hanriver:dKRW.hanriver:x', 'hanriver', 'dKRW.hanriver', '', 'x', 0, 0, 0, 0)"
    )


@dataclass(frozen=True)
class Value:
    """One value read beside the journal: where it lives, how it is edited, what must follow, and a word the outcome names."""

    table: str
    what: str
    edit: str | Callable[[Target], None]
    expect: str
    marker: str

    @property
    def id(self) -> str:
        return f"{self.table}: {self.what}"


VALUES = [
    # -- read to open the ledger ---------------------------------------------------------------
    Value("alembic_version", "a revision this wonledger does not know", "UPDATE alembic_version SET version_num = '0099'", REFUSED, "NOT_A_LEDGER"),
    Value("alembic_version", "an older revision than the tables", "UPDATE alembic_version SET version_num = '0005'", REFUSED, "STORAGE_ERROR"),
    Value("meta:" + LEDGER_ID_META, "another ledger's id", f"UPDATE meta SET value = 'wl-someone-else' WHERE key = '{LEDGER_ID_META}'", NAMED, "signed for ledger"),
    Value("meta:" + UNSIGNED_META, "the mark of a registry kept outside the journal", f"INSERT INTO meta (key, value) VALUES ('{UNSIGNED_META}', 'yes')", REFUSED, "INTEGRITY"),
    Value("meta:" + OPERATOR_META, "another operator key", f"UPDATE meta SET value = 'uaDgnCuIUXUJ5wlgRafFtOMrh0XKBSOjvrAIrWRvndM' WHERE key = '{OPERATOR_META}'", NAMED, "operator key"),
    Value("meta:controls_from_seq", "where an older wonledger said the controls start, moved past a hand-made entry", hand_made_transfer_abroad, NAMED, "TRAVEL_RULE"),
    # -- the journal itself ----------------------------------------------------------------------
    Value("journal", "an entry's memo", "UPDATE journal SET body = REPLACE(body, '\"memo\":\"\"', '\"memo\":\"x\"') WHERE id = 't-1'", NAMED, "digest"),
    Value("journal", "a genesis appended after the signed registry", misplaced_genesis, NAMED, "genesis"),
    Value("legs", "a stored leg's amount", "UPDATE legs SET amount = amount + 1 WHERE seq = (SELECT seq FROM journal WHERE id = 't-1')", NAMED, "legs"),
    Value("head", "the chain head", "UPDATE head SET seq = seq - 1", NAMED, "head"),
    # -- derived from the journal ------------------------------------------------------------------
    Value("participants", "a participant's jurisdiction", "UPDATE participants SET jurisdiction = 'HK' WHERE id = 'carol'", NAMED, "carol"),
    Value("participant_keys", "a key's validity", "UPDATE participant_keys SET valid_from = '2020-01-01T00:00:00.000000Z' WHERE participant = 'carol'", NAMED, "carol"),
    Value("assets", "an asset's issuer", "UPDATE assets SET issuer = 'namsan' WHERE code = 'dKRW.hanriver'", NAMED, "dKRW.hanriver"),
    Value("issuers", "an issuer registration", "DELETE FROM issuers WHERE asset = 'USDS'", NAMED, "USDS"),
    Value("accounts", "an account's overdraft flag", f"UPDATE accounts SET flags = '' WHERE id = '{ALICE}'", NAMED, ALICE),
    Value("accounts", "an account's counters", f"UPDATE accounts SET credits_posted = credits_posted + 1 WHERE id = '{ALICE}'", NAMED, ALICE),
    Value("holds", "a hold's expiry", "UPDATE holds SET expires_at = '2099-01-01T00:00:00.000000Z' WHERE id = 'h-1'", NAMED, "h-1"),
    Value("outflows", "a resident's counted outflow", "UPDATE outflows SET usd_minor = 0", NAMED, "outflows"),
    Value("conversions", "a conversion out of KRWS", "DELETE FROM conversions", NAMED, "conversions"),
    Value("travel_movements", "a movement across a border", "UPDATE travel_movements SET usd_minor = 1", NAMED, "travel_movements"),
    Value("quote_uses", "which transaction took a quote", "DELETE FROM quote_uses", NAMED, "quote_uses"),
    # -- signed beside the journal -------------------------------------------------------------------
    Value("quotes", "the rate of an offer nobody took", "UPDATE quotes SET rate = '100.1', expires_at = '2030-01-01T00:00:00.000000Z' WHERE id NOT IN (SELECT quote_id FROM quote_uses)", NAMED, "altered"),
    Value("quotes", "the amount of an offer taken", "UPDATE quotes SET buy_amount = buy_amount + 1 WHERE id IN (SELECT quote_id FROM quote_uses)", NAMED, "altered"),
    Value("quotes", "an offer's signature taken away", "UPDATE quotes SET signature = NULL", NOTED, "stored unsigned"),
    Value("checkpoints", "a checkpoint's root", "UPDATE checkpoints SET root = REPLACE(root, SUBSTR(root, 1, 1), CASE WHEN SUBSTR(root, 1, 1) = 'a' THEN 'b' ELSE 'a' END)", NAMED, "checkpoint"),
    # -- kept for people, read by no rule ---------------------------------------------------------------
    Value("rejections", "the record of refusals", "DELETE FROM rejections", TRUSTED, "report rejections"),
]


# -- copies of one busy ledger, per backend ------------------------------------------------------


@dataclass
class Target:
    url: str
    keys: Path
    checkpoint: Path
    operator_key: str
    ledger_id: str
    raw: Raw


class Busy:
    """One busy ledger per backend, made once per module; each test gets a copy (a file copy, or CREATE DATABASE ... TEMPLATE)."""

    def __init__(self, base: Path, sqlite_template: Path) -> None:
        self.base = base
        self.sqlite_template = sqlite_template
        self.made: dict[str, tuple[str, Path, Path, str, str]] = {}
        self.databases: list[str] = []
        self.admin: sqlalchemy.Engine | None = None

    def _make(self, backend: str) -> tuple[str, Path, Path, str, str]:
        where = self.base / f"busy-{backend}"
        checkpoint = self.base / f"busy-{backend}.checkpoint.json"
        if backend == "sqlite":
            shutil.copytree(self.sqlite_template, where)
            url, keys = f"sqlite:///{where / 'wonledger.db'}", where / "keys"
            ledger = Ledger.open(url, keys)
        else:
            url = self._database()
            keys = where / "keys"
            ledger = Ledger.create(url, keys)
        try:
            busy(ledger, checkpoint)
            operator, ledger_id = ledger.proofs.operator_key(), ledger.id
        finally:
            ledger.close()
        assert operator is not None
        return url, keys, checkpoint, operator, ledger_id

    def _database(self, template: str | None = None) -> str:
        base = pg_base_url()
        assert base is not None
        if self.admin is None:
            self.admin = sqlalchemy.create_engine(base, isolation_level="AUTOCOMMIT")
        name = f"wl_trust_{uuid.uuid4().hex[:12]}"
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        self.databases.append(name)
        return sqlalchemy.engine.make_url(base).set(database=name).render_as_string(hide_password=False)

    def copy(self, backend: str) -> Target:
        if backend not in self.made:
            self.made[backend] = self._make(backend)
        url, keys, checkpoint, operator, ledger_id = self.made[backend]
        if backend == "sqlite":
            target = self.base / f"copy-{uuid.uuid4().hex[:8]}.db"
            source, copy = sqlite3.connect(url.removeprefix("sqlite:///")), sqlite3.connect(target)
            with copy:
                source.backup(copy)  # the WAL's pages too
            source.close()
            copy.close()
            url = f"sqlite:///{target}"
        else:
            url = self._database(template=sqlalchemy.engine.make_url(url).database)
        return Target(url, keys, checkpoint, operator, ledger_id, Raw(url))

    def close(self) -> None:
        if self.admin is not None:
            with self.admin.connect() as conn:
                for name in self.databases:
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            self.admin.dispose()


@pytest.fixture(scope="module")
def copies(tmp_path_factory: pytest.TempPathFactory, templates: dict[str, Path]) -> Iterator[Busy]:
    made = Busy(tmp_path_factory.mktemp("trust"), templates["default"])
    yield made
    made.close()


def outcome(target: Target) -> tuple[Any, Any]:
    """verify, and verify anchored to the checkpoint saved before the edit and to the operator's key."""
    ledger = Ledger.open(target.url, target.keys)
    try:
        anchor = Anchor(target.operator_key, read_checkpoint(target.checkpoint.read_bytes()))
        return ledger.verify(), ledger.verify(anchor=anchor)
    finally:
        ledger.close()


@pytest.mark.slow
@pytest.mark.parametrize("value", VALUES, ids=[v.id for v in VALUES])
def test_each_value_read_beside_the_journal_is_named_refused_or_said_to_be_trusted(copies: Busy, backend: str, value: Value) -> None:
    target = copies.copy(backend)
    try:
        if callable(value.edit):
            value.edit(target)
        else:
            target.raw.execute(value.edit)
        if value.expect == REFUSED:
            with pytest.raises(LedgerError) as refused:
                outcome(target)
            assert value.marker in f"{refused.value.code}: {refused.value.message}"
            return
        plain, anchored = outcome(target)
        for report in (plain, anchored):
            said = [f"{p.kind}: {p.tx}: {p.detail}" for p in report.problems]
            if value.expect == NAMED:
                assert not report.ok and any(value.marker in line for line in said), said
            elif value.expect == NOTED:
                assert report.ok and any(value.marker in n for n in report.notes), (said, report.notes)
            else:
                assert report.ok and any(value.marker in u for u in report.unchecked), (said, report.unchecked)
    finally:
        target.raw.engine.dispose()


def test_a_value_trusted_unchecked_changes_no_decision(copies: Busy) -> None:
    """The record of refusals is read by no rule: with it emptied, the same attempt is refused the same way, and recorded again."""
    target = copies.copy("sqlite")
    target.raw.execute("DELETE FROM rejections")
    ledger = Ledger.open(target.url, target.keys)
    try:
        with pytest.raises(LedgerError) as refused:
            ledger.payments.transfer(ALICE, "seoul-exports:dKRW.hanriver", 10**12, tx_id="too-much-again")
        assert refused.value.code == "INSUFFICIENT_FUNDS"
        assert [r.code for r in ledger.reports.rejections()] == ["INSUFFICIENT_FUNDS"]
        assert ledger.verify().ok
    finally:
        ledger.close()
        target.raw.engine.dispose()


def test_every_table_and_meta_key_a_ledger_holds_has_its_row(copies: Busy, tmp_path: Path) -> None:
    """A new table, or a new meta key, read beside the journal fails here until VALUES says what becomes of an edit to it."""
    covered = {v.table for v in VALUES} | {v.table.partition(":")[0] for v in VALUES}
    tables = set(metadata.tables) | {"alembic_version"}
    assert tables - covered == set(), f"tables with no row in VALUES: {sorted(tables - covered)}"
    target = copies.copy("sqlite")
    keys = {r.key for r in target.raw.rows("SELECT key FROM meta")}
    from tests.storage.test_migrations import legacy_ledger

    url, legacy_keys = legacy_ledger(tmp_path)
    Ledger.open(url, legacy_keys).close()  # upgraded: what an upgrade leaves in meta
    legacy = Raw(url)
    keys |= {r.key for r in legacy.rows("SELECT key FROM meta")}
    legacy.engine.dispose()
    target.raw.engine.dispose()
    missing = {f"meta:{k}" for k in keys | {LEDGER_ID_META, OPERATOR_META, UNSIGNED_META}} - covered
    assert missing == set(), f"meta keys with no row in VALUES: {sorted(missing)}"
