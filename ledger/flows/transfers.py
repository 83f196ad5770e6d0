"""Transfers, holds (two-phase, timed or conditional), posts, voids, fulfils, rejects and reversals as transactions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from wonledger.domain.errors import BadAmount, BadInput
from wonledger.domain.model import FULFIL, HOLD, POST, PREIMAGE_BYTES, REJECT, REVERSAL, VOID, Leg, Partner, QuoteTerms, Travel, Tx


def new_tx_id(kind: str) -> str:
    """A fresh client id; pass your own to make a retry idempotent."""
    return f"{kind}-{uuid.uuid4().hex[:20]}"


def transfer_tx(
    ledger: str, debit: str, credit: str, asset: str, amount: int, *, tx_id: str | None = None, memo: str = "", kind: str = "transfer"
) -> Tx:
    return Tx(ledger=ledger, id=new_tx_id(kind) if tx_id is None else tx_id, kind=kind, memo=memo, legs=(Leg(debit, credit, asset, amount),))


def hold_tx(
    ledger: str, debit: str, credit: str, asset: str, amount: int, timeout_s: int, *, tx_id: str | None = None, memo: str = ""
) -> Tx:
    return Tx(
        ledger=ledger,
        id=new_tx_id(HOLD) if tx_id is None else tx_id,
        kind=HOLD,
        memo=memo,
        legs=(Leg(debit, credit, asset, amount),),
        timeout_s=timeout_s,
    )


def conditional_hold_tx(
    ledger: str,
    debit: str,
    credit: str,
    asset: str,
    amount: int,
    *,
    condition: bytes,
    deadline: str,
    partner: Partner,
    quote: QuoteTerms | None = None,
    travel: Travel | None = None,
    tx_id: str | None = None,
    memo: str = "",
) -> Tx:
    """A hold released only by the preimage of ``condition`` (SHA-256, 32 bytes) before ``deadline``: one leg of a payment across two ledgers."""
    if not isinstance(condition, bytes) or len(condition) != 32:
        raise BadInput("a condition is the 32 bytes of a SHA-256 digest")
    return Tx(
        ledger=ledger,
        id=new_tx_id(HOLD) if tx_id is None else tx_id,
        kind=HOLD,
        memo=memo,
        legs=(Leg(debit, credit, asset, amount),),
        quote=quote,
        travel=travel,
        condition=condition.hex(),
        deadline=deadline,
        partner=partner,
    )


def fulfil_tx(ledger: str, hold_id: str, held: Sequence[Leg], preimage: bytes, *, tx_id: str | None = None) -> Tx:
    """Fulfil a conditional hold with its preimage: all of its legs move."""
    if not isinstance(preimage, bytes) or len(preimage) != PREIMAGE_BYTES:
        raise BadInput(f"a preimage is {PREIMAGE_BYTES} bytes")
    return Tx(ledger=ledger, id=new_tx_id(FULFIL) if tx_id is None else tx_id, kind=FULFIL, legs=tuple(held), ref=hold_id, preimage=preimage.hex())


def reject_tx(ledger: str, hold_id: str, *, tx_id: str | None = None) -> Tx:
    """Reject a conditional hold (its creditors sign): release all of it before its deadline."""
    return Tx(ledger=ledger, id=new_tx_id(REJECT) if tx_id is None else tx_id, kind=REJECT, legs=(), ref=hold_id)


def post_tx(ledger: str, hold_id: str, held: Sequence[Leg], amount: int | None = None, *, tx_id: str | None = None, memo: str = "") -> Tx:
    """Post a hold: all of it, or ``amount`` of a one-leg hold (the rest is released)."""
    if amount is None:
        legs = tuple(held)
    else:
        if len(held) != 1:
            raise BadInput(f"hold {hold_id} has {len(held)} legs; a partial post names an amount for one leg only")
        if amount > held[0].amount:
            raise BadAmount(f"cannot post {amount}: hold {hold_id} holds {held[0].amount}")
        legs = (Leg(held[0].debit, held[0].credit, held[0].asset, amount),)
    return Tx(ledger=ledger, id=new_tx_id(POST) if tx_id is None else tx_id, kind=POST, memo=memo, legs=legs, ref=hold_id)


def void_tx(ledger: str, hold_id: str, *, tx_id: str | None = None, memo: str = "") -> Tx:
    return Tx(ledger=ledger, id=new_tx_id(VOID) if tx_id is None else tx_id, kind=VOID, memo=memo, legs=(), ref=hold_id)


def reversal_tx(ledger: str, original_id: str, legs: Sequence[Leg], *, tx_id: str | None = None, memo: str = "") -> Tx:
    """Move every leg of ``original_id`` back: the journal's only way to undo."""
    mirrored = tuple(Leg(leg.credit, leg.debit, leg.asset, leg.amount) for leg in legs)
    return Tx(
        ledger=ledger,
        id=new_tx_id(REVERSAL) if tx_id is None else tx_id,
        kind=REVERSAL,
        memo=memo or f"reverses {original_id}",
        legs=mirrored,
        ref=original_id,
    )
