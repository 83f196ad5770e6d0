"""A history read a page at a time is the whole history, whatever the page size and period.

Each page is found from its own bounds (legs through the (debit, seq) and
(credit, seq) indexes, and the voids and expiries of the account's holds
among the entries up to the page's last leg), so it costs about its own size;
these tests hold that shortcut to the plain query over everything, with pages
so small that holds and their voids or expiries fall on different pages, and
with other accounts' entries in between. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import json

import pytest
import sqlalchemy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wonledger import Ledger
from wonledger.testing import ManualClock

ALICE, BANK, SEOUL = "alice:dKRW.hanriver", "hanriver:dKRW.hanriver", "seoul-exports:dKRW.namsan"
STEPS = st.lists(st.sampled_from(["transfer", "hold", "void", "post", "expire", "elsewhere"]), min_size=1, max_size=14)


def _play(ledger: Ledger, clock: ManualClock, steps: list[str]) -> None:
    pending: list[str] = []
    for n, step in enumerate(steps):
        clock.advance(1)
        if step == "transfer":
            ledger.payments.transfer(ALICE, BANK, 1, tx_id=f"t{n}")
        elif step == "hold":
            ledger.payments.transfer(ALICE, BANK, 1, tx_id=f"h{n}", hold_timeout_s=600)
            pending.append(f"h{n}")
        elif step in ("void", "post") and pending:
            hold = pending.pop(0)
            (ledger.holds.void if step == "void" else ledger.holds.post)(hold, tx_id=f"{step}{n}")
        elif step == "expire" and pending:
            clock.advance(601)  # every pending hold times out; the next write records the expiries
            pending.clear()
            ledger.holds.expire_due()
        elif step == "elsewhere":
            ledger.payments.transfer(SEOUL, "namsan:dKRW.namsan", 1, tx_id=f"e{n}")  # not on alice's account


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS, page=st.integers(1, 4))
def test_every_page_size_gives_the_whole_history_in_order(sqlite_ledger_dir, steps: list[str], page: int) -> None:  # type: ignore[no-untyped-def]
    base = sqlite_ledger_dir()
    clock = ManualClock()
    with Ledger.open(f"sqlite:///{base / 'wonledger.db'}", base / "keys", clock=clock) as ledger:
        _play(ledger, clock, steps)
        whole = [e.tx.id for e in ledger.history(ALICE)]
        assert [e.tx.id for e in ledger.history(ALICE, page=page)] == whole


def test_an_expiry_on_a_later_page_than_its_hold_is_in_the_history(sqlite_ledger_dir) -> None:  # type: ignore[no-untyped-def]
    base = sqlite_ledger_dir()
    clock = ManualClock()
    with Ledger.open(f"sqlite:///{base / 'wonledger.db'}", base / "keys", clock=clock) as ledger:
        _play(ledger, clock, ["hold", "elsewhere", "transfer", "elsewhere", "expire", "transfer"])
        ids = [e.tx.id for e in ledger.history(ALICE, page=1)]
        assert ids[-4:] == ["h0", "t2", "_expire:h0", "t5"]
        assert ids == [e.tx.id for e in ledger.history(ALICE)]


def test_a_period_and_small_pages_give_the_entries_of_the_period(make_ledger) -> None:  # type: ignore[no-untyped-def]
    ledger = make_ledger()
    for n in range(6):
        ledger.payments.transfer(ALICE, BANK, 1, tx_id=f"t{n}", hold_timeout_s=600 if n % 2 else None)
        ledger.payments.transfer(SEOUL, "namsan:dKRW.namsan", 1, tx_id=f"e{n}")
    for n in (1, 3):
        ledger.holds.void(f"t{n}", tx_id=f"v{n}")
    entries = list(ledger.history(ALICE))
    since, until = entries[3].at, entries[-2].at
    wanted = [e.tx.id for e in entries if since <= e.at < until]
    for page in (1, 2, 3, 500):
        assert [e.tx.id for e in ledger.history(ALICE, since, until, page=page)] == wanted
    assert [e.tx.id for e in ledger.history(ALICE, limit=3, page=2)] == [e.tx.id for e in entries[-3:]]
    assert {"v1", "v3"} <= {e.tx.id for e in ledger.history(ALICE, page=1)}



@pytest.mark.postgres
def test_after_a_bulk_batch_postgresql_plans_with_the_journal_it_now_holds(pg_database, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Without fresh statistics its planner fetched and sorted all of an account's remaining legs for each history page."""
    from wonledger.flows import transfer_tx
    from wonledger.service import facade

    monkeypatch.setattr(facade, "BULK_LOAD", 3)  # a batch of three is a bulk load here: the rule is tested, not the size
    with Ledger.create(pg_database(), tmp_path / "keys") as ledger:
        def lines(prefix: str) -> list[str]:
            signed = [ledger.sign(transfer_tx(ledger.id, ALICE, BANK, "dKRW.hanriver", 1, tx_id=f"{prefix}-{n}")) for n in range(3)]
            return [json.dumps(s.to_wire()) for s in signed]

        # AUTOCOMMIT: each question sees the statistics as they are now, not as a transaction first saw them.
        admin = sqlalchemy.create_engine(ledger._store.url, isolation_level="AUTOCOMMIT")

        def analyzed() -> set[str]:
            query = "SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL AND relname IN ('journal', 'legs')"
            with admin.connect() as conn:
                return set(conn.exec_driver_sql(query).scalars())

        try:
            first = lines("a")
            assert ledger.ingest(first[:2]).posted == 2 and analyzed() == set()  # under the bulk size: left to autovacuum
            assert ledger.ingest(first).posted == 1 and analyzed() == set()  # two of the three were duplicates
            assert ledger.ingest(lines("b")).posted == 3
            assert analyzed() == {"journal", "legs"}
        finally:
            admin.dispose()
