"""Cross-border flows: the dealer's quotes, payment-versus-payment swaps, and sends abroad.

- A **quote** is firm: the dealer sells ``buy_amount`` of one stablecoin for
  ``sell_amount`` of another until it expires. The rate is the reference mid
  rate less the dealer's spread, cut to ten significant digits downwards;
  the fee is charged on the amount sold, rounded up; the amount bought is
  rounded down. Every rounding favours the dealer, and the rate string alone
  (bound into the signed transaction) determines what the buyer gets. The
  dealer signs the offer (:func:`signed_offer`); a stored offer is taken
  only while its signature holds (:func:`offer_holds`).
- A **swap** is one transaction of the two currency legs through the dealer's
  accounts plus the fee as a leg of its own: both move or neither does (PvP).
  As a hold, both legs wait under one timeout and post or void together.
- A **send** turns the sender's won deposit tokens into the won stablecoin at
  par (paid into its issuer's reserve), sells it to the dealer, and credits
  the delivered asset to the recipient abroad: one atomic transaction whose
  recipient gets exactly the quote's ``buy_amount``.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

from wonledger.domain import chain
from wonledger.domain.errors import BadAmount, BadInput, LedgerError
from wonledger.domain.model import HOLD, Leg, Participant, Party, Quote, Travel, Tx, account_id
from wonledger.domain.money import Asset
from wonledger.domain.signing import KeyStore, canonical_bytes, public_key_from_bytes, signature_holds
from wonledger.flows.stablecoins import at_par, reserve_account
from wonledger.flows.transfers import new_tx_id
from wonledger.rulebook.policy import STABLECOIN, FlowPolicy


def new_quote_id() -> str:
    return f"q-{secrets.token_hex(8)}"


def quoted_rate(policy: FlowPolicy, sell: Asset, buy: Asset) -> str:
    """Units of ``buy`` per unit of ``sell``: mid less the spread, cut (never rounded up) to ten digits."""
    return policy.firm_rate(sell.currency, buy.currency)


def make_quote(policy: FlowPolicy, sell: Asset, buy: Asset, amount: int, now: str, quote_id: str | None = None) -> Quote:
    """The dealer's firm quote for selling ``amount`` minor units of ``sell`` for ``buy``."""
    if sell.code == buy.code:
        raise BadInput(f"a quote exchanges two different assets, not {sell.code} for itself")
    for asset in (sell, buy):
        if asset.kind != STABLECOIN:
            raise BadInput(f"{policy.dealer} quotes stablecoins only; {asset.code} is a {asset.kind.replace('_', ' ')}")
    rate = quoted_rate(policy, sell, buy)
    fee = policy.fee_on(amount)
    bought = math.floor((amount - fee) * Fraction(Decimal(rate)) * Fraction(10**buy.exponent, 10**sell.exponent))
    if bought <= 0:
        raise BadAmount(f"{amount} minor units of {sell.code} buy nothing of {buy.code} after the dealer's fee")
    source = (
        f"{policy.dealer}: mid {policy.rates.describe(sell.currency, buy.currency)} (fx_rates.csv) "
        f"less {policy.spread_bps} bp spread; fee {policy.fee_bps} bp"
    )
    expires = chain.iso(chain.parse_iso(now) + timedelta(seconds=policy.quote_ttl_s))
    return Quote(
        quote_id=quote_id or new_quote_id(),
        dealer=policy.dealer,
        sell_asset=sell.code,
        buy_asset=buy.code,
        sell_amount=amount,
        fee=fee,
        buy_amount=bought,
        rate=rate,
        source=source,
        created_at=now,
        expires_at=expires,
    )


def offer_bytes(ledger: str, quote: Quote) -> bytes:
    """What the dealer signs when it offers ``quote`` on ``ledger``: the RFC 8785 bytes of every term."""
    return canonical_bytes(quote.offer(ledger))


def signed_offer(ledger: str, quote: Quote, keys: KeyStore) -> Quote:
    """``quote`` with its dealer's signature over the offer (the key store must hold the dealer's key)."""
    return replace(quote, signature=keys.sign(quote.dealer, offer_bytes(ledger, quote)).sig)


def offer_holds(ledger: str, quote: Quote, dealer_key: bytes | None) -> bool:
    """Whether ``quote`` is signed by its dealer under ``dealer_key`` (the key it had when it offered the quote)."""
    if quote.signature is None or dealer_key is None:
        return False
    try:
        return signature_holds(public_key_from_bytes(dealer_key), offer_bytes(ledger, quote), quote.signature)
    except (LedgerError, ValueError):
        return False


def pvp_legs(quote: Quote, payer: str, payee: str) -> tuple[Leg, ...]:
    """Account ``payer`` sells to the dealer (the fee a leg of its own); account ``payee`` gets what it buys."""
    dealer_sells, dealer_buys = account_id(quote.dealer, quote.buy_asset), account_id(quote.dealer, quote.sell_asset)
    legs = [Leg(payer, dealer_buys, quote.sell_asset, quote.sell_amount - quote.fee)]
    if quote.fee:
        legs.append(Leg(payer, dealer_buys, quote.sell_asset, quote.fee))
    legs.append(Leg(dealer_sells, payee, quote.buy_asset, quote.buy_amount))
    return tuple(legs)


def swap_tx(
    ledger: str,
    quote: Quote,
    owner: str,
    *,
    tx_id: str | None = None,
    memo: str = "",
    hold_timeout_s: int | None = None,
) -> Tx:
    """``owner`` exchanges with the dealer at ``quote``; with a timeout, a two-phase hold of both legs."""
    legs = pvp_legs(quote, account_id(owner, quote.sell_asset), account_id(owner, quote.buy_asset))
    kind = "swap" if hold_timeout_s is None else HOLD
    return Tx(
        ledger=ledger,
        id=new_tx_id(kind) if tx_id is None else tx_id,
        kind=kind,
        memo=memo,
        legs=legs,
        timeout_s=hold_timeout_s,
        quote=quote.terms,
    )


def send_tx(
    ledger: str,
    source: str,
    token: Asset,
    bridge: Asset,
    recipient: str,
    deliver: Asset,
    amount: int,
    quote: Quote | None,
    travel: Travel | None,
    *,
    tx_id: str | None = None,
    memo: str = "",
) -> Tx:
    """From deposit-token account ``source``: mint ``amount`` of ``bridge`` at par, sell it at ``quote``, deliver abroad.

    With no quote, ``deliver`` must be the bridge stablecoin itself, credited as minted.
    """
    sender = source.split(":", 1)[0]
    via = account_id(sender, bridge.code)
    legs = [
        Leg(source, reserve_account(bridge, token), token.code, at_par(amount, bridge, token)),
        Leg(account_id(bridge.issuer, bridge.code), via, bridge.code, amount),
    ]
    if quote is None:
        if deliver.code != bridge.code:
            raise BadInput(f"delivering {deliver.code} needs a quote from the dealer")
        legs.append(Leg(via, account_id(recipient, deliver.code), bridge.code, amount))
    else:
        if (quote.sell_asset, quote.buy_asset, quote.sell_amount) != (bridge.code, deliver.code, amount):
            raise BadInput(
                f"quote {quote.quote_id} sells {quote.sell_amount} {quote.sell_asset} for {quote.buy_asset}; "
                f"this send needs {amount} {bridge.code} for {deliver.code}"
            )
        legs.extend(pvp_legs(quote, via, account_id(recipient, deliver.code)))
    return Tx(
        ledger=ledger,
        id=new_tx_id("send") if tx_id is None else tx_id,
        kind="send",
        memo=memo,
        legs=tuple(legs),
        quote=None if quote is None else quote.terms,
        travel=travel,
    )


def travel_data(originator: Participant, originator_account: str, beneficiary: Participant, beneficiary_account: str) -> Travel:
    """Originator and beneficiary as the registry knows them (FATF Recommendation 16)."""
    return Travel(
        originator=Party(originator.id, originator_account, originator.kind, originator.jurisdiction),
        beneficiary=Party(beneficiary.id, beneficiary_account, beneficiary.kind, beneficiary.jurisdiction),
    )
