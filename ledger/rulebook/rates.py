"""Reference FX rates (``fixtures/fx_rates.csv``) and exact conversions between currencies.

Rates are read from text with :class:`~decimal.Decimal` and kept as
:class:`~fractions.Fraction`, so a conversion is exact integer arithmetic; a
result is rounded once, at the end, in the direction the caller names.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from functools import cache
from importlib import resources

from wonledger.domain.errors import BadInput

USD = "USD"
#: USD amounts in the policy (limits, thresholds) are in cents.
USD_EXPONENT = 2


@dataclass(frozen=True, slots=True)
class ReferenceRate:
    currency: str
    units_per_usd: Fraction
    as_of: str
    source: str


@dataclass(frozen=True, slots=True)
class Rates:
    """The reference mid rates, each against the US dollar."""

    by_currency: dict[str, ReferenceRate]

    def rate(self, currency: str) -> ReferenceRate:
        found = self.by_currency.get(currency)
        if found is None:
            raise BadInput(f"no reference rate for {currency} in fx_rates.csv")
        return found

    def cross(self, sell: str, buy: str) -> Fraction:
        """Units of ``buy`` per unit of ``sell`` (major units), at mid."""
        return self.rate(buy).units_per_usd / self.rate(sell).units_per_usd

    def usd_minor(self, amount: int, exponent: int, currency: str) -> Fraction:
        """``amount`` minor units of ``currency`` as US cents, exactly (not rounded)."""
        return Fraction(amount * 10**USD_EXPONENT, 10**exponent) / self.rate(currency).units_per_usd

    def describe(self, *currencies: str) -> str:
        """The mid rates of ``currencies`` and their date, for a quote's ``source``."""
        shown = [self.rate(c) for c in currencies if c != USD]
        dates = sorted({r.as_of for r in shown})
        return ", ".join(f"{r.currency} {_decimal_text(r.units_per_usd)}/USD" for r in shown) + f" as of {', '.join(dates)}"


def round_up(value: Fraction) -> int:
    return math.ceil(value)


def round_down(value: Fraction) -> int:
    return math.floor(value)


def _decimal_text(value: Fraction) -> str:
    return str(Decimal(value.numerator) / Decimal(value.denominator))


def parse_rates(text: str) -> Rates:
    found: dict[str, ReferenceRate] = {}
    for n, row in enumerate(csv.DictReader(io.StringIO(text)), 2):
        try:
            value = Decimal(row["units_per_usd"])
        except (InvalidOperation, KeyError, TypeError):
            raise BadInput(f"fx_rates.csv line {n}: units_per_usd must be a decimal number") from None
        if not value.is_finite() or value <= 0:
            raise BadInput(f"fx_rates.csv line {n}: units_per_usd must be positive")
        found[row["currency"]] = ReferenceRate(row["currency"], Fraction(value), row["as_of"], row["source"])
    if USD not in found:
        raise BadInput("fx_rates.csv must have a USD row")
    return Rates(found)


@cache
def reference_rates() -> Rates:
    """The rates shipped in the fixtures (read once per process)."""
    return parse_rates(resources.files("wonledger_fixtures").joinpath("fx_rates.csv").read_text(encoding="utf-8"))
