"""Transfers, holds (two-phase), posts, voids and reversals as transactions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from wonledger.domain.errors import BadAmount, BadInput
from wonledger.domain.model import HOLD, POST, REVERSAL, VOID, Leg, Tx


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
