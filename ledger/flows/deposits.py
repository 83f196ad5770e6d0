"""Tokenized deposits: a bank tokenizes a customer's deposit, de-tokenizes it, and
customers pay each other across banks by burn-and-issue (Project Hangang).

A payment between customers of two banks is one atomic transaction of three
legs: the payer's token goes back to the payer's bank (burned), the payer's
bank pays the payee's bank in wholesale central-bank money, and the payee's
bank issues its own token to the payee. Between customers of one bank it is
a single leg.
"""

from __future__ import annotations

from wonledger.domain.model import Leg, Tx, account_id
from wonledger.flows.transfers import new_tx_id


def deposit_tx(ledger: str, bank: str, token: str, holder: str, amount: int, *, tx_id: str | None = None, memo: str = "") -> Tx:
    """``bank`` issues ``amount`` of its ``token`` into ``holder`` (an account id); the bank signs."""
    leg = Leg(account_id(bank, token), holder, token, amount)
    return Tx(ledger=ledger, id=new_tx_id("deposit") if tx_id is None else tx_id, kind="deposit", memo=memo, legs=(leg,))


def withdraw_tx(ledger: str, bank: str, token: str, holder: str, amount: int, *, tx_id: str | None = None, memo: str = "") -> Tx:
    """``holder`` returns ``amount`` of ``token`` to ``bank`` (an ordinary deposit again); the holder signs."""
    leg = Leg(holder, account_id(bank, token), token, amount)
    return Tx(ledger=ledger, id=new_tx_id("withdraw") if tx_id is None else tx_id, kind="withdraw", memo=memo, legs=(leg,))


def pay_tx(
    ledger: str,
    payer: str,
    payer_token: str,
    payer_bank: str,
    payee: str,
    payee_token: str,
    payee_bank: str,
    settlement_asset: str,
    amount: int,
    *,
    tx_id: str | None = None,
    memo: str = "",
) -> Tx:
    """A domestic payment from account ``payer`` to account ``payee``, settled between banks if they differ."""
    if payer_bank == payee_bank:
        legs: tuple[Leg, ...] = (Leg(payer, payee, payer_token, amount),)
    else:
        legs = (
            Leg(payer, account_id(payer_bank, payer_token), payer_token, amount),
            Leg(account_id(payer_bank, settlement_asset), account_id(payee_bank, settlement_asset), settlement_asset, amount),
            Leg(account_id(payee_bank, payee_token), payee, payee_token, amount),
        )
    return Tx(ledger=ledger, id=new_tx_id("pay") if tx_id is None else tx_id, kind="pay", memo=memo, legs=legs)
