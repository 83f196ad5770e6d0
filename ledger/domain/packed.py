"""Parsed transactions as plain tuples, to cross between processes cheaply.

Batch ingest and ``verify`` parse lines and journal rows in worker processes
and hand the parsed values back to the one process that decides and writes.
Pickling the values themselves would cost the receiver about as much as
parsing again: a frozen dataclass with slots is unpickled field by field,
through ``object.__setattr__``. A tuple of text and integers unpickles in a
fraction of that, and the receiver builds the same values with their
constructors. A transaction that carries more than legs and a memo (a quote,
travel data, accounts it opens, a registry subject or snapshot, a condition or a preimage: rare in bulk)
travels as itself.

Nothing here checks anything: ``unpack`` gives back exactly what ``pack``
was given, and is used only on what this process's own workers packed.
"""

from __future__ import annotations

from wonledger.domain.model import Leg, Signature, SignedTx, Tx

#: (ledger, id, kind, ((debit, credit, asset, amount), ...), memo, ref, timeout), or the Tx itself.
PackedTx = tuple[str, str, str, tuple[tuple[str, str, str, int], ...], str | None, str | None, int | None] | Tx
#: (the transaction, ((signer, sig), ...), the canonical bytes of the transaction)
PackedSigned = tuple[PackedTx, tuple[tuple[str, str], ...], bytes]


def pack_tx(tx: Tx) -> PackedTx:
    if (
        tx.quote is None and tx.travel is None and not tx.opens and tx.subject is None and tx.snapshot is None
        and tx.condition is None and tx.preimage is None
    ):
        return (tx.ledger, tx.id, tx.kind, tuple((leg.debit, leg.credit, leg.asset, leg.amount) for leg in tx.legs), tx.memo, tx.ref, tx.timeout_s)
    return tx


def unpack_tx(packed: PackedTx) -> Tx:
    if isinstance(packed, Tx):
        return packed
    ledger, tx_id, kind, legs, memo, ref, timeout = packed
    return Tx(ledger, tx_id, kind, tuple([Leg(*leg) for leg in legs]), memo, ref, timeout)


def pack(signed: SignedTx) -> PackedSigned:
    return pack_tx(signed.tx), tuple((s.signer, s.sig) for s in signed.signatures), signed.canonical


def unpack(packed: PackedSigned) -> SignedTx:
    tx, signatures, canonical = packed
    return SignedTx(unpack_tx(tx), tuple([Signature(signer, sig) for signer, sig in signatures]), canonical)
