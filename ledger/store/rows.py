"""Turning table rows into domain values, for every repository of the store.

The one place a stored journal row (its body and signatures as text) becomes
a :class:`~wonledger.domain.model.StoredTx`; the other helpers here make
participants, assets, accounts, quotes and legs of their rows, and cut long
``IN (...)`` lists into chunks the databases take.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import Connection, select

from wonledger.domain.errors import LedgerError
from wonledger.domain.model import GENESIS, Account, Leg, Participant, Signature, SignedTx, StoredTx
from wonledger.domain.money import Asset
from wonledger.store import tables as t

if TYPE_CHECKING:
    from wonledger.domain.records import Quote

T = TypeVar("T")

#: Bound parameters per IN (...) list, well under SQLite's limit.
IN_CHUNK = 500


def chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    items = list(items)
    for start in range(0, len(items), IN_CHUNK):
        yield items[start : start + IN_CHUNK]


class Repository:
    """What every repository of a unit of work shares: its connection, and whether it takes row locks."""

    def __init__(self, conn: Connection, locking: bool) -> None:
        self.conn = conn
        self.locking = locking


def legs_of(conn: Connection, seqs: Sequence[int]) -> dict[int, tuple[Leg, ...]]:
    """The stored legs of the entries at ``seqs``, in leg order."""
    grouped: dict[int, list[Leg]] = {}
    for part in chunks(sorted(set(seqs))):
        query = select(t.legs).where(t.legs.c.seq.in_(part)).order_by(t.legs.c.seq, t.legs.c.idx)
        for r in conn.execute(query):
            grouped.setdefault(r.seq, []).append(Leg(r.debit, r.credit, r.asset, r.amount))
    return {seq: tuple(legs) for seq, legs in grouped.items()}


def lock_head(conn: Connection, locking: bool) -> tuple[int, str]:
    """The chain head (seq, hash), locked against other writers where the database takes row locks."""
    query = select(t.head.c.seq, t.head.c.hash).where(t.head.c.id == 1)
    if locking:
        query = query.with_for_update()
    row = conn.execute(query).one()
    return row.seq, row.hash


def stored_tx(
    seq: int, tx_id: str, kind: str, ref: str | None, at: str, body: str, signatures: str, digest: str, hash: str, strict: bool = False
) -> StoredTx:
    """A journal row decoded: its transaction parsed from the body, its signatures from their list.

    Without ``strict`` (what people look up) a row that does not decode raises,
    as a tampered journal should. With ``strict`` (verify's replay) nothing
    raises: the body must also be canonical JSON, and what does not decode is
    left as None with the reason in ``problem``, for verify to report while it
    still checks the chain over the bytes as stored.
    """
    # Imported here, not at the top: parsing needs the signing module and its cryptography, which a balance never loads.
    from wonledger.domain.signing import canonical_bytes
    from wonledger.domain.wire import parse_tx

    canonical = body.encode()
    if not strict:
        tx = parse_tx(json.loads(body), journal=True)
        sigs = tuple(Signature(s["signer"], s["sig"]) for s in json.loads(signatures))
        return StoredTx(seq, tx_id, kind, ref, at, digest, hash, canonical, SignedTx(tx=tx, signatures=sigs, canonical=canonical))
    try:
        listed = json.loads(signatures)
        if not isinstance(listed, list):
            raise ValueError("not a list")
        signature_list: tuple[object, ...] | None = tuple(listed)
    except ValueError:
        signature_list = None
    lenient = tuple(
        Signature(str(s.get("signer", "")), str(s.get("sig", ""))) if isinstance(s, dict) else Signature("", "")
        for s in signature_list or ()
    )
    try:
        parsed = json.loads(body)
        tx = parse_tx(parsed, journal=True)
        # parse_tx has checked every key and value but a genesis entry's snapshot: plain JSON.
        if canonical_bytes(parsed, plain=tx.kind != GENESIS) != canonical:
            raise ValueError("body is not in RFC 8785 canonical form")
    except (ValueError, LedgerError) as exc:
        return StoredTx(seq, tx_id, kind, ref, at, digest, hash, canonical, None, signature_list, str(exc))
    return StoredTx(seq, tx_id, kind, ref, at, digest, hash, canonical, SignedTx(tx=tx, signatures=lenient, canonical=canonical), signature_list)


def stored_row(row, strict: bool = False) -> StoredTx:
    return stored_tx(row.seq, row.id, row.kind, row.ref, row.at, row.body, row.signatures, row.digest, row.hash, strict)


def participant(row) -> Participant:
    return Participant(row.id, row.kind, row.jurisdiction, bool(row.resident), bytes(row.public_key), row.registrar or "")


def asset(row) -> Asset:
    return Asset(row.code, row.currency, row.kind, row.exponent, row.issuer)


def account(row) -> Account:
    return Account(
        id=row.id,
        owner=row.owner,
        asset=row.asset,
        flags=frozenset(f for f in row.flags.split(",") if f),
        label=row.label,
        debits_posted=row.debits_posted,
        credits_posted=row.credits_posted,
        debits_pending=row.debits_pending,
        credits_pending=row.credits_pending,
    )


def quote(row) -> Quote:
    from wonledger.domain.records import Quote  # (a read of balances never builds it)

    return Quote(
        quote_id=row.id,
        dealer=row.dealer,
        sell_asset=row.sell_asset,
        buy_asset=row.buy_asset,
        sell_amount=row.sell_amount,
        fee=row.fee,
        buy_amount=row.buy_amount,
        rate=row.rate,
        source=row.source,
        created_at=row.created_at,
        expires_at=row.expires_at,
        signature=row.signature,
    )
