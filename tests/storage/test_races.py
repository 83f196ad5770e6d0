"""Many OS processes writing one ledger at once, on a SQLite file and on PostgreSQL.

the README's "Storage": "Many processes may write at once without a lost update, a
negative balance or a 'database is locked' crash." Each race hands signed
transactions to six writer processes (race_worker.py, kept running across
tests) or starts six `wonledger` commands, releases them together, and then
checks the outcome every request got against the journal and the stored
counters. Every race runs on a SQLite file and on PostgreSQL.
"""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest

from wonledger import Ledger, Leg, Tx

pytestmark = pytest.mark.slow  # several processes racing on each backend (docs/testing.md: the lanes)

ASSET = "dKRW.hanriver"
ALICE = "alice:dKRW.hanriver"  # 5,000,000 at the start
RESERVE = "kstable:dKRW.hanriver:reserve"
WORKERS = 6


def wire(ledger: Ledger, tx: Tx, signers=None) -> str:
    return json.dumps(ledger.sign(tx, signers).to_wire())


def transfer(ledger: Ledger, tx_id: str, debit: str, credit: str, amount: int) -> Tx:
    return Tx(ledger=ledger.id, id=tx_id, kind="transfer", legs=(Leg(debit, credit, ASSET, amount),))


def head_seq(ledger: Ledger, raw) -> int:
    return raw(ledger).scalar("SELECT seq FROM head WHERE id = 1")


def entries_after(ledger: Ledger, raw, seq: int) -> list:
    ids = [r.id for r in raw(ledger).rows("SELECT id FROM journal WHERE seq > :s ORDER BY seq", s=seq)]
    return [ledger.transaction(i) for i in ids]


def counters(ledger: Ledger) -> dict[str, list[int]]:
    return {a.id: [a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending] for a in ledger.registry.accounts()}


def replay(ledger: Ledger, start: dict[str, list[int]], entries: list) -> dict[str, list[int]]:
    """Counters after applying ``entries`` to ``start``, checking no protected account is ever overdrawn."""
    state = {k: list(v) for k, v in start.items()}
    protected = {a.id for a in ledger.registry.accounts() if not a.may_overdraw}
    for e in entries:
        kind, legs = e.tx.kind, e.tx.legs
        if kind in ("post", "void", "expire"):
            for leg in ledger.transaction(e.tx.ref).tx.legs:
                state[leg.debit][2] -= leg.amount
                state[leg.credit][3] -= leg.amount
        pending = kind == "hold"
        for leg in legs:
            state[leg.debit][2 if pending else 0] += leg.amount
            state[leg.credit][3 if pending else 1] += leg.amount
        for account in {leg.debit for leg in legs}:
            dp, cp, dq, _ = state[account]
            assert account not in protected or cp - dp - dq >= 0, f"{account} overdrawn after {e.tx.id}"
    return state


def flat(results) -> list:
    return [o for worker in results for o in worker]


def assert_no_storage_trouble(results) -> None:
    """No request saw 'database is locked', a deadlock, a crash or any storage error."""
    bad = [o for o in flat(results) if o.code in ("CRASH", "STORAGE_ERROR", "DB_UNREACHABLE", "INTERNAL")]
    assert bad == [], bad[:3]


# -- one account, many spenders --------------------------------------------------


def test_processes_racing_to_spend_one_account_never_overdraw_it(ledger: Ledger, race, raw) -> None:
    amount, attempts = 300_000, 8  # 48 attempts; 5,000,000 pays for 16 of them
    allowed = 5_000_000 // amount
    start_seq, start = head_seq(ledger, raw), counters(ledger)
    lines = [
        [wire(ledger, transfer(ledger, f"spend-{w}-{i}", ALICE, RESERVE, amount)) for i in range(attempts)]
        for w in range(WORKERS)
    ]
    results = race(ledger._store.url, lines)
    assert_no_storage_trouble(results)
    codes = Counter(o.code for o in flat(results))
    assert codes == {"posted": allowed, "INSUFFICIENT_FUNDS": WORKERS * attempts - allowed}
    alice = ledger.registry.account(ALICE)
    assert alice.balance == alice.available == 5_000_000 - allowed * amount == 200_000
    posted = sorted(o.seq for o in flat(results) if o.code == "posted")
    assert posted == list(range(start_seq + 1, start_seq + allowed + 1))  # one seq each, no gaps
    new = entries_after(ledger, raw, start_seq)
    assert {e.tx.id for e in new} == {f"spend-{o.worker}-{o.line - 1}" for o in flat(results) if o.code == "posted"}
    assert {e.seq: e.hash for e in new} == {o.seq: o.hash for o in flat(results) if o.code == "posted"}
    assert [e.at for e in new] == sorted(e.at for e in new)  # commit times follow the chain's order
    replay(ledger, start, new)  # alice is never overdrawn, entry by entry
    assert ledger.verify().ok


def test_racing_holds_never_reserve_more_than_the_account_has(ledger: Ledger, race, raw) -> None:
    amount, attempts = 700_000, 4  # holds for 7 of 24 attempts fit in 5,000,000
    lines = [
        [
            wire(ledger, Tx(ledger=ledger.id, id=f"hold-{w}-{i}", kind="hold", legs=(Leg(ALICE, RESERVE, ASSET, amount),), timeout_s=600))
            for i in range(attempts)
        ]
        for w in range(WORKERS)
    ]
    results = race(ledger._store.url, lines)
    assert_no_storage_trouble(results)
    codes = Counter(o.code for o in flat(results))
    assert codes == {"posted": 7, "INSUFFICIENT_FUNDS": WORKERS * attempts - 7}
    alice = ledger.registry.account(ALICE)
    assert (alice.balance, alice.debits_pending, alice.available) == (5_000_000, 7 * amount, 100_000)
    assert ledger.verify().ok


def test_concurrent_wonledger_transfer_commands_spend_only_what_is_there(ledger: Ledger, start_wonledger) -> None:
    """Six `wonledger transfer` commands at once; alice's 5,000,000 pays for two of them."""
    procs = [
        start_wonledger(ledger._store.url, "transfer", ALICE, RESERVE, "2,000,000", "--id", f"cli-{n}", keys=ledger._keys.directory)
        for n in range(WORKERS)
    ]
    finished = [(p.returncode, out, err) for p in procs for out, err in [p.communicate(timeout=90)]]
    exits = Counter(code for code, _, _ in finished)
    assert exits == {0: 2, 1: WORKERS - 2}, finished
    for code, _out, err in finished:
        if code == 1:
            assert err.startswith("error: INSUFFICIENT_FUNDS:"), err
            assert len(err.strip().splitlines()) == 1  # one line, no traceback
    assert ledger.registry.account(ALICE).balance == 1_000_000
    assert ledger.verify().ok


# -- many accounts, both directions -------------------------------------------------

#: Korean residents, since only they may hold a Korean bank's deposit token.
PEOPLE = ("alice", "seoul-exports", "busan-fish", "daegu-textiles")


def mixed_workload(ledger: Ledger, worker: int, size: int) -> list[str]:
    """Transfers, two-leg payments in both directions, holds posted, part-posted and voided."""
    rng = random.Random(1000 + worker)
    accounts = [f"{p}:{ASSET}" for p in PEOPLE]
    lines = []
    for i in range(size):
        a, b, c = rng.sample(accounts, 3)
        owner = {acc: acc.split(":")[0] for acc in accounts}
        tid = f"mix-{worker}-{i}"
        roll = rng.random()
        if roll < 0.4:
            lines.append(wire(ledger, transfer(ledger, tid, a, b, rng.randint(1, 600_000))))
        elif roll < 0.7:
            # a pays b and c pays a in one transaction: locks on a and c wanted in both orders across workers
            legs = (Leg(a, b, ASSET, rng.randint(1, 500_000)), Leg(c, a, ASSET, rng.randint(1, 500_000)))
            lines.append(wire(ledger, Tx(ledger=ledger.id, id=tid, kind="pay", legs=legs), [owner[a], owner[c]]))
        else:
            held = rng.randint(2, 400_000)
            hold = Tx(ledger=ledger.id, id=tid, kind="hold", legs=(Leg(a, b, ASSET, held),), timeout_s=600)
            lines.append(wire(ledger, hold))
            finish = rng.choice(("post", "part", "void"))
            if finish == "void":
                tx = Tx(ledger=ledger.id, id=f"{tid}-void", kind="void", legs=(), ref=tid)
            else:
                posted = held if finish == "post" else held // 2
                tx = Tx(ledger=ledger.id, id=f"{tid}-{finish}", kind="post", legs=(Leg(a, b, ASSET, posted),), ref=tid)
            lines.append(wire(ledger, tx, [owner[a]]))
    return lines


def fund_people(ledger: Ledger) -> None:
    for p in PEOPLE[2:]:
        ledger.registry.add_participant(p, "corporate", "KR")
    for p in PEOPLE[1:]:
        ledger.registry.open_account(p, ASSET)
        ledger.payments.transfer(ALICE, f"{p}:{ASSET}", 1_000_000)


def test_processes_moving_money_every_way_between_accounts_keep_every_counter_right(ledger: Ledger, race, raw) -> None:
    fund_people(ledger)
    start_seq, start = head_seq(ledger, raw), counters(ledger)
    total = sum(ledger.registry.account(f"{p}:{ASSET}").balance for p in PEOPLE)
    lines = [mixed_workload(ledger, w, 30) for w in range(WORKERS)]
    results = race(ledger._store.url, lines)
    assert_no_storage_trouble(results)
    codes = Counter(o.code for o in flat(results))
    # a post or void of a hold that was itself refused finds no hold
    assert set(codes) <= {"posted", "INSUFFICIENT_FUNDS", "UNKNOWN_TRANSACTION"}, codes
    assert codes["posted"] > 40 and codes["INSUFFICIENT_FUNDS"] > 0, codes
    new = entries_after(ledger, raw, start_seq)
    posted = {o.seq: o.hash for o in flat(results) if o.code == "posted"}
    assert {e.seq: e.hash for e in new} == posted  # every receipt is in the journal, and nothing else is
    assert counters(ledger) == replay(ledger, start, new)
    assert [e.at for e in new] == sorted(e.at for e in new)
    assert sum(ledger.registry.account(f"{p}:{ASSET}").balance for p in PEOPLE) == total
    assert all(ledger.registry.account(f"{p}:{ASSET}").debits_pending == 0 for p in PEOPLE)
    report = ledger.verify()
    assert report.ok, report.problems[:5]


# -- the same thing, asked for by everyone at once ---------------------------------------


def test_a_hold_finished_by_several_processes_at_once_is_finished_exactly_once(ledger: Ledger, race, raw) -> None:
    holds = [f"hold-{n}" for n in range(12)]
    for h in holds:
        ledger.payments.transfer(ALICE, RESERVE, 10_000, tx_id=h, hold_timeout_s=600)
    start = ledger.registry.account(ALICE)

    def finish(worker: int, hold: str) -> str:
        if worker % 3 == 2:
            return wire(ledger, Tx(ledger=ledger.id, id=f"void-{hold}-{worker}", kind="void", legs=(), ref=hold), ["alice"])
        amount = 10_000 if worker % 3 == 0 else 4_000
        leg = (Leg(ALICE, RESERVE, ASSET, amount),)
        return wire(ledger, Tx(ledger=ledger.id, id=f"post-{hold}-{worker}", kind="post", legs=leg, ref=hold), ["alice"])

    results = race(ledger._store.url, [[finish(w, h) for h in holds] for w in range(WORKERS)])
    assert_no_storage_trouble(results)
    spent = 0
    for n, hold in enumerate(holds):
        outcomes = Counter(worker[n].code for worker in results)
        assert outcomes == {"posted": 1, "HOLD_NOT_PENDING": WORKERS - 1}, (hold, outcomes)
        winner = next(worker[n].worker for worker in results if worker[n].code == "posted")
        spent += {0: 10_000, 1: 4_000, 2: 0}[winner % 3]
    alice = ledger.registry.account(ALICE)
    assert alice.debits_pending == 0
    assert alice.balance == start.balance - spent
    assert all(ledger.transaction(h).status in ("posted", "voided") for h in holds)
    report = ledger.verify()
    assert report.ok, report.problems[:5]


def test_a_transaction_submitted_by_several_processes_at_once_posts_once(ledger: Ledger, race, raw) -> None:
    """Retries racing each other: one posts, every other gets the same receipt back."""
    same = [wire(ledger, transfer(ledger, f"pay-{n}", ALICE, RESERVE, 1_000 + n)) for n in range(12)]
    other = [wire(ledger, transfer(ledger, f"pay-{n}", ALICE, RESERVE, 1)) for n in range(12)]
    start_seq = head_seq(ledger, raw)
    results = race(ledger._store.url, [same] * (WORKERS - 2) + [other] * 2)
    assert_no_storage_trouble(results)
    for n in range(12):
        got = [worker[n] for worker in results]
        winners = [o for o in got if o.code == "posted"]
        assert len(winners) == 1, (n, got)
        winner_content = same if winners[0].worker < WORKERS - 2 else other
        for o in got:
            if o is winners[0]:
                continue
            content = same if o.worker < WORKERS - 2 else other
            if content is winner_content:
                assert (o.code, o.seq, o.hash) == ("duplicate", winners[0].seq, winners[0].hash)
            else:
                assert o.code == "DUPLICATE_CONFLICT"
    assert head_seq(ledger, raw) == start_seq + 12
    assert ledger.verify().ok


def test_a_transaction_reversed_by_several_processes_at_once_is_reversed_once(ledger: Ledger, race, raw) -> None:
    originals = [f"t-{n}" for n in range(12)]
    for t in originals:
        ledger.payments.transfer(ALICE, RESERVE, 1_000, tx_id=t)
    balance = ledger.registry.account(ALICE).balance
    mirror = (Leg(RESERVE, ALICE, ASSET, 1_000),)
    lines = [
        [wire(ledger, Tx(ledger=ledger.id, id=f"undo-{t}-{w}", kind="reversal", ref=t, legs=mirror)) for t in originals]
        for w in range(WORKERS)
    ]
    results = race(ledger._store.url, lines)
    assert_no_storage_trouble(results)
    for n in range(len(originals)):
        assert Counter(worker[n].code for worker in results) == {"posted": 1, "ALREADY_REVERSED": WORKERS - 1}
    assert ledger.registry.account(ALICE).balance == balance + 12 * 1_000
    assert ledger.verify().ok


def test_holds_that_expire_while_processes_race_are_voided_once_and_nobody_notices(ledger: Ledger, race, raw) -> None:
    """Every write first voids the holds that are due; racing writers must not trip over each other doing it."""
    import time

    holds = [f"hold-{n}" for n in range(10)]
    for h in holds:
        ledger.payments.transfer(ALICE, RESERVE, 1_000, tx_id=h, hold_timeout_s=1)
    time.sleep(1.05)
    lines = [[wire(ledger, transfer(ledger, f"after-{w}-{i}", ALICE, RESERVE, 10)) for i in range(3)] for w in range(WORKERS)]
    results = race(ledger._store.url, lines)
    assert_no_storage_trouble(results)
    assert Counter(o.code for o in flat(results)) == {"posted": WORKERS * 3}
    expiries = [r.id for r in raw(ledger).rows("SELECT id FROM journal WHERE kind = 'expire' ORDER BY seq")]
    assert sorted(expiries) == sorted(f"_expire:{h}" for h in holds)
    assert all(ledger.transaction(h).status == "voided" for h in holds)
    assert ledger.registry.account(ALICE).debits_pending == 0
    assert ledger.verify().ok
