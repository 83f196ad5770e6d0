"""`ledger.crossborder`: the dealer's firm quotes, stablecoin swaps and sends abroad.

A quote is stored as an offer the dealer signs; a swap or send takes one
(stored, by id, if the dealer's signature on it holds) or asks for a fresh
one in the same read, and stores it in the same write. What binds is the
quote inside the exchange the dealer signs: no rule reads a stored offer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wonledger.domain.errors import BadInput, BadSignature
from wonledger.domain.model import AccountSpec, Quote, Receipt, Tx, account_id
from wonledger.domain.money import TypedAmount, format_amount

if TYPE_CHECKING:
    from wonledger.service.facade import Ledger
    from wonledger.service.names import Lookups


class CrossBorder:
    """Quotes, swaps and sends (``ledger.crossborder``)."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    def quote(self, sell: str, buy: str, amount: int | TypedAmount) -> Quote:
        """The dealer's firm quote for selling ``amount`` of ``sell`` for ``buy`` (stored as an offer)."""
        from wonledger.flows.crossborder import signed_offer

        ledger = self._ledger
        offer = ledger._read(lambda names: self._quote_in(names, None, sell, buy, amount))
        quote = signed_offer(ledger.id, offer, ledger._keys)  # signed outside any database transaction
        ledger._book.record(lambda uow: uow.records.add_quote(quote))
        return quote

    def _quote_in(self, names: Lookups, quote_id: str | None, sell: str, buy: str, amount: int | TypedAmount) -> Quote:
        """The stored quote ``quote_id`` if its terms are these and its dealer signed it, else (no id) a fresh offer, not signed or stored yet."""
        from wonledger.flows.crossborder import make_quote, offer_holds

        ledger = self._ledger
        policy = ledger._book.flow_policy
        sell_asset, buy_asset = names.asset(sell), names.asset(buy)
        minor = names.minor(amount, sell_asset)
        if quote_id is None:
            names.participant(policy.dealer)
            names.account(account_id(policy.dealer, buy_asset.code))
            # An offer is dated no earlier than the journal's last entry, as commit times are: a clock behind the
            # journal (stepped back, or a test's) would date it before the dealer's key was registered, and no key
            # would then vouch for it.
            last = names.uow.journal.last_entry_at()
            return make_quote(policy, sell_asset, buy_asset, minor, max(names.now, last) if last else names.now)
        quote = names.uow.records.quote(quote_id)
        if quote is None:
            raise BadInput(f"no quote {quote_id}", hint="quote")
        # A stored offer is a row nothing else vouches for: take it only as its dealer signed it.
        dealer_key = names.uow.registry.keys_at([quote.dealer], quote.created_at).get(quote.dealer)
        if quote.dealer != policy.dealer or not offer_holds(ledger.id, quote, dealer_key):
            raise BadSignature(
                f"quote {quote_id} is not as {policy.dealer} offered it: the dealer's signature on the stored offer does "
                "not hold (it was altered, or stored unsigned); ask for a new one"
            )
        if (quote.sell_asset, quote.buy_asset, quote.sell_amount) != (sell, buy, minor):
            exponent = names.asset(quote.sell_asset).exponent
            raise BadInput(
                f"quote {quote_id} sells {format_amount(quote.sell_amount, exponent)} {quote.sell_asset} for {quote.buy_asset}, "
                f"not {format_amount(minor, sell_asset.exponent)} {sell} for {buy}"
            )
        return quote

    def swap(
        self,
        owner: str,
        amount: int | TypedAmount,
        sell: str,
        buy: str,
        *,
        quote_id: str | None = None,
        tx_id: str | None = None,
        memo: str = "",
        hold_timeout_s: int | None = None,
    ) -> Receipt:
        """``owner`` sells ``amount`` of stablecoin ``sell`` to the dealer for ``buy``: both legs or neither.

        With ``hold_timeout_s`` both legs are held under one timeout; `post` settles both, `void` (or the
        timeout) releases both. One read (the quote too), then one write.
        """
        from wonledger.flows.crossborder import swap_tx

        ledger = self._ledger  # its id is read inside the build: the read checks the schema once, in its transaction

        def build(names: Lookups) -> tuple[Tx, None, Quote | None]:
            names.participant(owner)
            quote = self._quote_in(names, quote_id, sell, buy, amount)
            tx = names.opening(swap_tx(ledger.id, quote, owner, tx_id=tx_id, memo=memo, hold_timeout_s=hold_timeout_s), [AccountSpec(owner, buy)])
            return tx, None, quote if quote_id is None else None

        return self._ledger._submit_built(build)

    def send(
        self,
        sender: str,
        recipient: str,
        amount: int | TypedAmount,
        deliver: str,
        *,
        quote_id: str | None = None,
        tx_id: str | None = None,
        memo: str = "",
    ) -> Receipt:
        """Cross-border: ``sender``'s won deposit tokens → the won stablecoin at par → PvP → ``deliver`` to ``recipient``.

        One atomic transaction signed by the sender, the stablecoin's issuer and the dealer;
        ``amount`` is in minor units of the sender's currency (or as typed: "1,000,000", "1,000,000 KRW"),
        and the recipient gets exactly the quote's ``buy_amount``. It carries originator and
        beneficiary data from the registry. One read (the quote too), then one write.
        """
        from wonledger.flows.crossborder import send_tx

        ledger = self._ledger  # its id is read inside the build: the read checks the schema once, in its transaction
        policy = self._ledger._book.flow_policy

        def build(names: Lookups) -> tuple[Tx, None, Quote | None]:
            bridge, target = names.asset(policy.bridge), names.asset(deliver)
            minor = names.send_amount(amount, bridge)
            source = names.deposit_account_for(sender, bridge.currency, minor)
            token = names.asset(source.asset)
            receiver = names.participant(recipient)
            quote = None if target.code == bridge.code else self._quote_in(names, quote_id, bridge.code, target.code, minor)
            travel = names.travel(source, receiver.id, account_id(receiver.id, target.code))
            tx = send_tx(ledger.id, source.id, token, bridge, recipient, target, minor, quote, travel, tx_id=tx_id, memo=memo)
            tx = names.opening(
                tx, [AccountSpec(sender, bridge.code), AccountSpec(recipient, target.code), AccountSpec(bridge.issuer, token.code, "reserve", True)]
            )
            return tx, None, quote if quote_id is None else None

        return self._ledger._submit_built(build)


__all__ = ["CrossBorder"]
