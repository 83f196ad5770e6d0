"""The dealer's firm quote for a payment across two ledgers, and the arithmetic both ledgers' holds must agree on.

The dealer quotes as it does on one ledger (:func:`wonledger.flows.crossborder.make_quote`):
its rate is mid less its spread, cut to ten digits; its fee, on the amount
sold, is rounded up; the amount bought is rounded down. Here the asset sold
lives on the partner ledger, so its terms (code, currency, exponent) come
from there. What binds is the quote's terms inside both holds, each signed by
its debtor; :func:`bought_under` is how the pair check holds the two amounts
to them.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from wonledger.domain.errors import BadInput
from wonledger.domain.money import Asset
from wonledger.domain.timestamps import iso
from wonledger.flows.crossborder import make_quote
from wonledger.rulebook.policy import load_flow_policy
from wonledger.service.facade import Ledger


def dealer_quote(ledger: Ledger, sell: dict[str, Any], buy: str, amount: int) -> dict[str, Any]:
    """The dealer's quote on ``ledger`` (where it pays ``buy``) for ``amount`` minor units of ``sell`` (an asset of the partner)."""
    policy = load_flow_policy()
    bought = next((a for a in ledger.registry.assets() if a.code == buy), None)
    if bought is None:
        raise BadInput(f"no asset {buy} on ledger {ledger.id}")
    sold = Asset(sell["code"], sell["currency"], sell["kind"], int(sell["exponent"]), sell["issuer"])
    quote = make_quote(policy, sold, bought, amount, iso(ledger.clock()))
    return {
        "terms": quote.terms.to_wire(),
        "dealer": quote.dealer,
        "sell_asset": quote.sell_asset,
        "buy_asset": quote.buy_asset,
        "sell_amount": quote.sell_amount,
        "fee": quote.fee,
        "buy_amount": quote.buy_amount,
        "sell_exponent": sold.exponent,
        "buy_exponent": bought.exponent,
    }


def bought_under(rate: str, sold: int, sell_exponent: int, buy_exponent: int) -> int:
    """What ``sold`` minor units buy at ``rate`` after the dealer's fee, rounded as the dealer rounds."""
    try:
        exact = Fraction(Decimal(rate))
    except InvalidOperation:
        raise BadInput(f"the quote's rate {rate!r} is not a number") from None
    fee = load_flow_policy().fee_on(sold)
    return math.floor((sold - fee) * exact * Fraction(10**buy_exponent, 10**sell_exponent))


__all__ = ["bought_under", "dealer_quote"]
