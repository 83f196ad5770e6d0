"""`ledger.payments`: money moved between accounts, each one read and one write.

Transfers between any two accounts (or a hold, with a timeout), domestic
payments in deposit tokens (settled in wholesale central-bank money across
banks), a bank tokenizing a deposit or taking it back, and reversals.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from wonledger.domain.errors import AssetMismatch, BadInput, UnknownAsset
from wonledger.domain.model import AccountSpec, Receipt, Tx, account_id
from wonledger.domain.money import TypedAmount

if TYPE_CHECKING:
    from wonledger.service.facade import Ledger
    from wonledger.service.names import Lookups


class Payments:
    """Transfers, payments, deposits, withdrawals and reversals (``ledger.payments``)."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    def transfer(
        self,
        debit: str,
        credit: str,
        amount: int | TypedAmount,
        *,
        tx_id: str | None = None,
        memo: str = "",
        hold_timeout_s: int | None = None,
    ) -> Receipt:
        """Move ``amount`` between two accounts (a hold when a timeout is given).

        ``debit`` and ``credit`` are account ids, or owners with one account in
        the asset; ``amount`` is minor units, or a :class:`TypedAmount` as a
        person typed it. Everything is looked up in one read, and the
        transaction is written in one write: two database transactions.
        """
        from wonledger.flows import hold_tx, transfer_tx

        ledger = self._ledger  # its id is read inside the build: the read checks the schema once, in its transaction

        def build(names: Lookups) -> tuple[Tx, list[str], None]:
            source, target, minor = names.pair(debit, credit, amount)
            if hold_timeout_s is not None:
                tx = hold_tx(ledger.id, source.id, target.id, source.asset, minor, hold_timeout_s, tx_id=tx_id, memo=memo)
            else:
                tx = transfer_tx(ledger.id, source.id, target.id, source.asset, minor, tx_id=tx_id, memo=memo)
            travel = names.travel(source, target.owner, target.id)
            return (replace(tx, travel=travel) if travel is not None else tx), [source.owner], None

        return self._ledger._submit_built(build)

    def pay(self, payer: str, payee: str, amount: int | TypedAmount, *, tx_id: str | None = None, memo: str = "") -> Receipt:
        """A domestic payment between two deposit-token accounts; across banks it settles in wholesale CBDC.

        ``payer`` and ``payee`` are deposit-token accounts, or residents by name
        (the payer's account that can pay it, the payee's in the same currency).
        """
        from wonledger.flows import pay_tx
        from wonledger.rulebook.policy import DEPOSIT_TOKEN

        ledger = self._ledger  # its id is read inside the build: the read checks the schema once, in its transaction

        def build(names: Lookups) -> tuple[Tx, None, None]:
            source, target, minor = names.payment(payer, payee, amount)
            payer_token, payee_token = names.asset(source.asset), names.asset(target.asset)
            if payer_token.kind != DEPOSIT_TOKEN or payee_token.kind != DEPOSIT_TOKEN:
                raise AssetMismatch("a payment runs between deposit-token accounts")
            if payer_token.currency != payee_token.currency:
                raise AssetMismatch(f"{source.id} holds {payer_token.currency} but {target.id} holds {payee_token.currency}")
            settlement = [a for a in names.all_assets() if a.kind == "wholesale_cbdc" and a.currency == payer_token.currency]
            if len(settlement) != 1:
                raise UnknownAsset(f"no wholesale central-bank money in {payer_token.currency} to settle between banks")
            tx = pay_tx(
                ledger.id, source.id, payer_token.code, payer_token.issuer, target.id, payee_token.code, payee_token.issuer,
                settlement[0].code, minor, tx_id=tx_id, memo=memo,
            )
            return tx, None, None

        return self._ledger._submit_built(build)

    def deposit(self, owner: str, amount: int | TypedAmount, bank: str, *, tx_id: str | None = None, memo: str = "") -> Receipt:
        """``bank`` tokenizes ``amount`` of ``owner``'s deposit (opening the token account if needed)."""
        from wonledger.flows import deposit_tx

        ledger = self._ledger  # its id is read inside the build: the read checks the schema once, in its transaction

        def build(names: Lookups) -> tuple[Tx, None, None]:
            token = names.deposit_token(bank)
            tx = deposit_tx(ledger.id, bank, token.code, account_id(owner, token.code), names.minor(amount, token), tx_id=tx_id, memo=memo)
            return names.opening(tx, [AccountSpec(owner, token.code)]), None, None

        return self._ledger._submit_built(build)

    def withdraw(self, owner: str, amount: int | TypedAmount, bank: str, *, tx_id: str | None = None, memo: str = "") -> Receipt:
        """``owner`` turns ``amount`` of ``bank``'s token back into an ordinary deposit."""
        from wonledger.flows import withdraw_tx

        ledger = self._ledger  # its id is read inside the build: the read checks the schema once, in its transaction

        def build(names: Lookups) -> tuple[Tx, list[str], None]:
            token = names.deposit_token(bank)
            holder = names.account(account_id(owner, token.code))
            return withdraw_tx(ledger.id, bank, token.code, holder.id, names.minor(amount, token), tx_id=tx_id, memo=memo), [owner], None

        return self._ledger._submit_built(build)

    def reverse(self, original_id: str, *, tx_id: str | None = None, memo: str = "") -> Receipt:
        """Undo a posted transaction with a new one moving its legs back."""
        from wonledger.flows import reversal_tx
        from wonledger.rulebook.controls import reversed_travel

        ledger = self._ledger
        entry = ledger.transaction(original_id)
        if not entry.tx.legs or entry.tx.kind == "hold":
            raise BadInput(f"{original_id} is a {entry.tx.kind}; only transfers and posts are reversed (void a hold instead)")
        tx = reversal_tx(ledger.id, original_id, entry.tx.legs, tx_id=tx_id, memo=memo)
        # Value moving back across a border is a movement too: the original's beneficiary now sends to its originator.
        tx = replace(tx, travel=reversed_travel(entry.tx.travel))
        return ledger.submit(ledger.sign(tx))

    def reversals_of(self, ids: Iterable[str]) -> dict[str, str]:
        """For each of ``ids`` that a reversal undid: the reversal's id."""
        return self._ledger._store.reading(lambda uow: uow.journal.reversals_of(ids))


__all__ = ["Payments"]
