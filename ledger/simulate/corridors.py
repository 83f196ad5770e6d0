"""The demo's corridor parameters (``fixtures/corridors.toml``) as frozen values.

Amounts are read with the one parser of :mod:`wonledger.domain.money` into minor units;
rates and spreads stay exact (basis points, :class:`~fractions.Fraction`).
Delays are log-normal draws from a seeded :class:`random.Random`, rounded to
whole seconds: they are durations, never amounts.
"""

from __future__ import annotations

import math
import random
import tomllib
from dataclasses import dataclass
from datetime import datetime, time
from fractions import Fraction
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from wonledger.domain.errors import BadInput
from wonledger.domain.money import parse_amount
from wonledger.rulebook.rates import Rates, reference_rates
from wonledger.simulate.calendars import Window, parse_clock_time

KRW_EXPONENT = 0
USD_EXPONENT = 2
HKD_EXPONENT = 2


@dataclass(frozen=True, slots=True)
class Delay:
    """A log-normal processing delay: median, spread of its logarithm, and a cap (seconds)."""

    median_s: float
    sigma: float
    cap_s: int

    def draw(self, rng: random.Random) -> int:
        seconds = rng.lognormvariate(math.log(self.median_s), self.sigma)
        return max(1, min(self.cap_s, round(seconds)))


@dataclass(frozen=True, slots=True)
class Bank:
    """One institution of the correspondent route."""

    id: str
    role: str
    window: Window
    delay: Delay
    fee_minor: int = 0
    spread_bps: int = 0


@dataclass(frozen=True, slots=True)
class TwoLedgerDelays:
    """How long each party of a payment across two ledgers takes to act on the step before its own."""

    payer: Delay      # quote → the payer's hold on Korea
    dealer: Delay     # that hold seen → the dealer's hold on Hong Kong
    receiver: Delay   # the dealer's hold seen → the receiver's fulfilment on Hong Kong
    relay: Delay      # the preimage seen on Hong Kong → the fulfilment on Korea


@dataclass(frozen=True, slots=True)
class Corridor:
    week_start: datetime
    example_at: datetime
    amount_krw: int
    payer: str
    payer_bank: str
    payee: str
    sender: Bank          # namsan
    correspondent: Bank   # hudson
    receiver: Bank        # harbour
    fx_settlement_days: int
    fx_calendars: tuple[str, ...]
    fx_settles_at: time
    fx_timezone: str
    nostro_prefunding_usd: int
    coin_processing: Delay
    block_s: int
    confirmations: int
    last_mile: Window
    last_mile_delay: Delay
    two_ledgers: TwoLedgerDelays
    #: The ledger's reference mid rates (fixtures/fx_rates.csv), the ones the dealer quotes around.
    rates: Rates

    def mid(self, sell: str, buy: str) -> Fraction:
        """Major units of ``buy`` per major unit of ``sell`` at the reference mid rate."""
        return self.rates.cross(sell, buy)

    @property
    def banks(self) -> tuple[Bank, Bank, Bank]:
        return (self.sender, self.correspondent, self.receiver)


def load_corridor() -> Corridor:
    """The corridor of ``fixtures/corridors.toml``, with the ledger's reference rates."""
    fixtures = resources.files("wonledger_fixtures")
    data = tomllib.loads(fixtures.joinpath("corridors.toml").read_text(encoding="utf-8"))
    try:
        sample, corr, coin, two = data["sample"], data["correspondent"], data["stablecoin"], data["two_ledgers"]
        fx = corr["fx"]
        return Corridor(
            week_start=_moment(sample["week_start"]),
            example_at=_moment(sample["example_at"]),
            amount_krw=parse_amount(sample["amount_krw"], KRW_EXPONENT),
            payer=sample["payer"],
            payer_bank=sample["payer_bank"],
            payee=sample["payee"],
            sender=_bank("namsan", corr["namsan"], fee_key="fee_krw", exponent=KRW_EXPONENT),
            correspondent=_bank("hudson", corr["hudson"], fee_key="fee_usd", exponent=USD_EXPONENT),
            receiver=_bank("harbour", corr["harbour"], fee_key=None, exponent=HKD_EXPONENT),
            fx_settlement_days=int(fx["settles_after_business_days"]),
            fx_calendars=tuple(fx["calendars"]),
            fx_settles_at=parse_clock_time(fx["settles_at"]),
            fx_timezone=fx["timezone"],
            nostro_prefunding_usd=parse_amount(fx["nostro_prefunding_usd"], USD_EXPONENT),
            coin_processing=_delay(coin["processing"]),
            block_s=int(coin["block_s"]),
            confirmations=int(coin["confirmations"]),
            last_mile=_window(coin["last_mile"]),
            last_mile_delay=_delay(coin["last_mile"]["delay"]),
            two_ledgers=TwoLedgerDelays(*(_delay(two[party]) for party in ("payer", "dealer", "receiver", "relay"))),
            rates=reference_rates(),
        )
    except KeyError as exc:
        raise BadInput(f"corridors.toml lacks {exc.args[0]!r}") from exc


def parse_start(text: str, default_zone: str) -> datetime:
    """An ISO 8601 time as typed for ``--at``; without an offset it is local time in ``default_zone``."""
    try:
        found = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise BadInput(f"{text!r} is not a time (write e.g. 2026-12-05T09:00 or 2026-12-05T09:00+09:00)") from exc
    return found if found.tzinfo is not None else found.replace(tzinfo=ZoneInfo(default_zone))


def _moment(text: str) -> datetime:
    found = datetime.fromisoformat(text)
    if found.tzinfo is None:
        raise BadInput(f"{text!r} needs a UTC offset")
    return found


def _delay(spec: dict[str, Any]) -> Delay:
    return Delay(float(spec["median_s"]), float(spec["sigma"]), int(spec["cap_s"]))


def _window(spec: dict[str, Any]) -> Window:
    ZoneInfo(spec["timezone"])  # an unknown zone fails here, by name
    return Window(
        timezone=spec["timezone"],
        country=spec["holidays"],
        opens=parse_clock_time(spec["opens"]),
        cutoff=parse_clock_time(spec["cutoff"]),
        opens_day_before=bool(spec.get("opens_day_before", False)),
    )


def _bank(bank_id: str, spec: dict[str, Any], fee_key: str | None, exponent: int) -> Bank:
    return Bank(
        id=bank_id,
        role=spec["role"],
        window=_window(spec),
        delay=_delay(spec["delay"]),
        fee_minor=parse_amount(spec[fee_key], exponent) if fee_key else 0,
        spread_bps=int(spec.get("spread_bps", 0)),
    )
