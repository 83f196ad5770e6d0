"""Signatures checked on every core: the book still decides, and nothing unverified is applied.

A chunk above the verifier's threshold has its Ed25519 arithmetic done in
worker processes; these tests make sure that path refuses exactly what the
one-process path refuses, that only the book that prepared a chunk can apply
it (and only once), and that `verify` finds a forged signature in a journal
large enough to be checked in parallel too.
"""

from __future__ import annotations

import json

import pytest

from wonledger import BadInput, Ledger, Leg, Signature, SignedTx, Tx
from wonledger.book.signature_pool import POOL_THRESHOLD
from wonledger.domain.signing import canonical_bytes

ALICE = "alice:dKRW.hanriver"  # 5,000,000 at the start
RESERVE = "kstable:dKRW.hanriver:reserve"
SIZE = POOL_THRESHOLD + 72


def _transfers(ledger: Ledger, count: int, prefix: str = "p") -> list[SignedTx]:
    return [
        ledger.sign(Tx(ledger=ledger.id, id=f"{prefix}-{n}", kind="transfer", legs=(Leg(ALICE, RESERVE, "dKRW.hanriver", 1 + n),)))
        for n in range(count)
    ]


def test_one_forged_signature_in_a_chunk_checked_on_every_core_is_refused_and_the_rest_post(ledger: Ledger) -> None:
    batch = _transfers(ledger, SIZE)
    victim = batch[SIZE // 2]
    # kstable's valid signature over other bytes, presented as alice's.
    stolen = ledger._keys.sign("kstable", victim.canonical).sig
    batch[SIZE // 2] = SignedTx(victim.tx, (Signature("alice", stolen),), victim.canonical)
    before = ledger.registry.account(ALICE).balance
    outcomes = ledger.submit_many(batch)
    assert ledger._book._verifier.started, "a chunk this size is checked in the worker processes"
    refused = [(n, o.code) for n, o in enumerate(outcomes) if not hasattr(o, "seq")]
    assert refused == [(SIZE // 2, "BAD_SIGNATURE")]
    moved = sum(1 + n for n in range(SIZE) if n != SIZE // 2)
    assert ledger.registry.account(ALICE).balance == before - moved
    assert ledger.verify().ok


def test_a_signer_that_is_not_registered_is_refused_in_a_large_chunk_too(ledger: Ledger) -> None:
    batch = _transfers(ledger, SIZE)
    first = batch[0]
    batch[0] = SignedTx(first.tx, first.signatures + (Signature("nobody", first.signatures[0].sig),), first.canonical)
    outcomes = ledger.submit_many(batch)
    assert outcomes[0].code == "BAD_SIGNATURE" and "nobody" in outcomes[0].message
    assert all(hasattr(o, "seq") for o in outcomes[1:])


def test_a_prepared_chunk_is_applied_once_and_only_by_the_book_that_prepared_it(ledger: Ledger) -> None:
    before = ledger.info().transactions
    prepared = ledger._book.prepare(_transfers(ledger, 3))
    other = Ledger.open(ledger._store.url, ledger._keys.directory)
    try:
        with pytest.raises(BadInput):
            other._book.submit_prepared(prepared)
    finally:
        other.close()
    assert all(hasattr(o, "seq") for o in ledger._book.submit_prepared(prepared))
    with pytest.raises(BadInput):
        ledger._book.submit_prepared(prepared)
    assert ledger.info().transactions == before + 3


def test_a_large_ingest_streams_through_the_pipeline_and_reports_bad_lines_by_number(ledger: Ledger) -> None:
    lines = [json.dumps(s.to_wire()) for s in _transfers(ledger, 3 * SIZE, prefix="f")]
    forged = json.loads(lines[SIZE + 5])
    forged["tx"]["legs"][0]["amount"] += 1  # the signature no longer matches the bytes
    lines[SIZE + 5] = json.dumps(forged)
    lines.insert(7, "not json")
    result = ledger.ingest(iter(lines))
    assert result.posted == 3 * SIZE - 1
    assert [(r.line, r.code) for r in result.rejected] == [(8, "BAD_INPUT"), (SIZE + 7, "BAD_SIGNATURE")]


def test_verify_checks_a_journal_in_parallel_and_names_a_forged_signature(ledger: Ledger, raw) -> None:
    ledger.submit_many(_transfers(ledger, SIZE))
    r = raw(ledger)
    body = r.scalar("SELECT body FROM journal WHERE id = 'p-100'")
    other = r.scalar("SELECT signatures FROM journal WHERE id = 'p-101'")
    r.execute("UPDATE journal SET signatures = :s WHERE id = 'p-100'", s=other)
    assert json.loads(body)["id"] == "p-100"
    named = {(p.tx, p.kind) for p in ledger.verify().problems}
    assert ("p-100", "signature") in named
    assert not {tx for tx, _ in named} - {"p-100"}


@pytest.mark.slow
def test_a_worker_told_another_key_for_a_signer_cannot_make_the_book_accept_a_forgery(ledger: Ledger) -> None:
    """The workers check lines under keys the book shares with them; the book holds every "yes" to the key the rules expect.

    Here the workers are made to believe alice's key is kstable's, and kstable
    signs a transfer out of alice's account: the workers say it holds, the book
    refuses it. Alice's own lines fail the workers' check and are checked
    again by the book under her registered key: they post.
    """
    from wonledger.book.lines import KEYS
    from wonledger.domain.signing import public_bytes

    lines = [json.dumps(s.to_wire()) for s in _transfers(ledger, SIZE, prefix="k")]
    victim = json.loads(lines[SIZE // 3])
    stolen = ledger._keys.sign("kstable", canonical_bytes(victim["tx"])).sig
    victim["signatures"] = [{"signer": "alice", "sig": stolen}]
    lines[SIZE // 3] = json.dumps(victim)
    ledger._book.remember_keys({"alice": public_bytes(ledger._keys.load("alice"))})
    ledger._book._verifier.share(KEYS, {"alice": public_bytes(ledger._keys.load("kstable"))})
    before = ledger.registry.account(ALICE).balance
    result = ledger.ingest(iter(lines))
    assert ledger._book._verifier.started
    assert [(r.line, r.code) for r in result.rejected] == [(SIZE // 3 + 1, "BAD_SIGNATURE")]
    assert result.posted == SIZE - 1
    assert ledger.registry.account(ALICE).balance == before - sum(1 + n for n in range(SIZE) if n != SIZE // 3)
    assert ledger.verify().ok


@pytest.mark.slow
def test_verify_checked_on_every_core_names_an_edited_leg_a_broken_link_and_a_bad_digest(ledger: Ledger, raw) -> None:
    ledger.submit_many(_transfers(ledger, SIZE))
    r = raw(ledger)
    seq_leg = r.scalar("SELECT seq FROM journal WHERE id = 'p-20'")
    r.execute("UPDATE legs SET amount = amount + 1 WHERE seq = :s", s=seq_leg)
    r.execute("UPDATE journal SET hash = :h WHERE id = 'p-60'", h="ab" * 32)
    r.execute("UPDATE journal SET digest = :d WHERE id = 'p-150'", d="cd" * 32)
    found = {(p.tx, p.kind) for p in ledger.verify().problems}
    assert {("p-20", "legs"), ("p-60", "hash"), ("p-150", "digest")} <= found
    # The entry after the edited hash no longer links to it; the one after that links to what is stored, as before.
    assert ("p-61", "hash") in found and ("p-62", "hash") not in found
