"""The policy the ledger encodes (docs/policy.md), as checks the book and registry run.

- **Who may hold what**: tokenized deposits are for domestic use: only a
  resident of the issuing bank's jurisdiction may hold one; wholesale
  central-bank money (``wKRW``) is held only by the central bank and the
  banks of its jurisdiction (Project Hangang). An account opens only for an eligible holder, and no
  leg may credit such an asset to anyone else (whoever signed it, however
  it arrived).
- **Issuers**: only registered issuers mint, and registration is open to
  the kinds ``fixtures/policy.toml`` names for the issuer's jurisdiction
  (phase 1 in Korea: banks and bank-led consortia).
- **Full reserves**: after every transaction an issuer's reserve accounts
  in a currency hold at least the supply of its stablecoins in that
  currency (reserve counted net of holds, supply including pending mints).
- **Capital-flow controls** (:class:`FlowPolicy`): the dealer and its quotes,
  residents' yearly outflow limit, the run breaker on conversions out of the
  won stablecoin, and the travel-rule threshold with its window for linked
  transfers. :mod:`wonledger.rulebook.controls` defines and applies them.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Context, Decimal
from fractions import Fraction
from functools import cache
from importlib import resources

from wonledger.domain.errors import HolderNotEligible, IssuerNotEligible, NotAuthorized, ReserveNotEligible, ReserveShortfall, Residency
from wonledger.domain.model import AssetSpec, Participant, Registration
from wonledger.domain.money import Asset, parse_amount
from wonledger.rulebook.rates import USD_EXPONENT, Rates, reference_rates

DEPOSIT_TOKEN = "deposit_token"
STABLECOIN = "stablecoin"
WHOLESALE_CBDC = "wholesale_cbdc"
#: Who may hold wholesale central-bank money.
WHOLESALE_HOLDERS = ("bank", "central_bank")
#: Participants whose money crosses borders as payments (not as institutions' own books).
CUSTOMER_KINDS = ("individual", "corporate")
DEALER_KIND = "dealer"
#: Significant digits of a quoted rate.
RATE_DIGITS = 10


def _policy_data() -> dict:
    return tomllib.loads(resources.files("wonledger_fixtures").joinpath("policy.toml").read_text(encoding="utf-8"))


def may_hold(holder: Participant, asset: Asset, issuer: Participant) -> bool:
    """Whether ``holder`` may hold ``asset``: residency for deposit tokens, banks only for wholesale CBDC."""
    if asset.kind == WHOLESALE_CBDC:
        return holder.kind in WHOLESALE_HOLDERS and holder.jurisdiction == issuer.jurisdiction
    if asset.kind != DEPOSIT_TOKEN:
        return True
    return holder.resident and holder.jurisdiction == issuer.jurisdiction


def require_may_hold(holder: Participant, asset: Asset, issuer: Participant) -> None:
    if may_hold(holder, asset, issuer):
        return
    if asset.kind == WHOLESALE_CBDC:
        raise HolderNotEligible(
            f"{holder.id} is a {holder.kind} in {holder.jurisdiction}; {asset.code} is wholesale central-bank money, "
            f"held only by {issuer.id} and the banks of {issuer.jurisdiction}"
        )
    where = "a resident of" if holder.resident else "not a resident of"
    raise Residency(
        f"{holder.id} ({where} {holder.jurisdiction}) may not hold {asset.code}: "
        f"deposit tokens of {issuer.id} are for residents of {issuer.jurisdiction} only"
    )


# -- stablecoin issuers ---------------------------------------------------------

@dataclass(frozen=True, slots=True)
class IssuerPolicy:
    phase: int
    eligible: dict[str, tuple[str, ...]]
    exponents: dict[str, int]


def load_issuer_policy() -> IssuerPolicy:
    """The issuer rules of ``fixtures/policy.toml``."""
    data = _policy_data()
    issuers = data.get("issuers", {})
    return IssuerPolicy(
        phase=int(issuers.get("phase", 1)),
        eligible={j: tuple(kinds) for j, kinds in issuers.get("eligible", {}).items()},
        exponents={c: int(e) for c, e in data.get("exponents", {}).items()},
    )


def require_eligible(candidate: Participant, policy: IssuerPolicy) -> None:
    kinds = policy.eligible.get(candidate.jurisdiction, ())
    if candidate.kind not in kinds:
        allowed = ", ".join(kinds) if kinds else "nobody"
        raise IssuerNotEligible(
            f"{candidate.id} is a {candidate.kind} in {candidate.jurisdiction}; in phase {policy.phase} "
            f"only {allowed} may issue stablecoins there"
        )


# -- who vouches for whom ---------------------------------------------------------

REGULATOR = "regulator"
#: Who may issue each kind of asset that is not a stablecoin.
ASSET_ISSUERS = {WHOLESALE_CBDC: ("central_bank",), DEPOSIT_TOKEN: ("bank",), "correspondent_balance": ("bank",)}


@dataclass(frozen=True, slots=True)
class RegistryPolicy:
    """Who registers whom, and what reserves may hold (``[authorities]``, ``[registry]``, ``[reserves]`` of policy.toml)."""

    authorities: dict[str, str]
    customer_registrars: tuple[str, ...]
    reserve_kinds: dict[str, tuple[str, ...]]

    def authority_of(self, jurisdiction: str) -> str:
        authority = self.authorities.get(jurisdiction)
        if authority is None:
            raise NotAuthorized(f"policy.toml names no authority for {jurisdiction}: nobody there can vouch for institutions")
        return authority

    def require_registrar(self, subject: Registration, registrar: Participant | None) -> None:
        """``registrar`` may vouch for ``subject``: its regulator, a bank of its jurisdiction for a customer, itself for an authority."""
        if subject.kind == REGULATOR:
            if self.authorities.get(subject.jurisdiction) != subject.id:
                named = self.authorities.get(subject.jurisdiction)
                raise NotAuthorized(
                    f"{subject.id} is not the authority policy.toml names for {subject.jurisdiction} "
                    f"({named or 'none is named'}); a regulator registers only as its jurisdiction's authority"
                )
            if subject.registrar != subject.id:
                raise NotAuthorized(f"an authority registers itself: {subject.id}'s registrar must be {subject.id}")
            return
        if registrar is None:
            raise NotAuthorized(f"{subject.id}'s registrar {subject.registrar} is not a registered participant")
        if subject.kind in CUSTOMER_KINDS:
            if registrar.kind not in self.customer_registrars or registrar.jurisdiction != subject.jurisdiction:
                raise NotAuthorized(
                    f"{_a(subject.kind)} in {subject.jurisdiction} is registered by a "
                    f"{' or '.join(self.customer_registrars)} of {subject.jurisdiction}, which vouches for who they are "
                    f"and where they live; {registrar.id} is {_a(registrar.kind)} in {registrar.jurisdiction}"
                )
            return
        authority = self.authority_of(subject.jurisdiction)
        if registrar.id != authority:
            raise NotAuthorized(
                f"{_a(subject.kind)} in {subject.jurisdiction} is registered by its regulator {authority}, not by {registrar.id}"
            )

    def require_asset_issuer(self, spec: AssetSpec, issuer: Participant) -> None:
        kinds = ASSET_ISSUERS.get(spec.kind, ())
        if issuer.kind not in kinds:
            raise NotAuthorized(f"a {spec.kind} is issued by a {' or '.join(kinds)}; {issuer.id} is a {issuer.kind}")


def _a(word: str) -> str:
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"


def load_registry_policy() -> RegistryPolicy:
    data = _policy_data()
    return RegistryPolicy(
        authorities=dict(data.get("authorities", {})),
        customer_registrars=tuple(data.get("registry", {}).get("customer_registrars", ("bank",))),
        reserve_kinds={c: tuple(k) for c, k in data.get("reserves", {}).get("eligible", {}).items()},
    )


def reserve_counts(issuer: str, asset: Asset, policy: RegistryPolicy) -> bool:
    """Whether ``asset`` held in ``issuer``'s reserve backs its stablecoins: eligible, and not its own liability."""
    return asset.kind in policy.reserve_kinds.get(asset.currency, ()) and asset.issuer != issuer


def require_reserve_eligible(owner: str, asset: Asset, issuers: set[str], policy: RegistryPolicy) -> None:
    if not issuers:
        raise ReserveNotEligible(f"{owner} issues no stablecoin, so it keeps no reserve")
    if asset.issuer == owner:
        raise ReserveNotEligible(
            f"{asset.code} is {owner}'s own liability: an issuer's own deposits never back its stablecoins"
        )
    allowed = policy.reserve_kinds.get(asset.currency, ())
    if asset.kind not in allowed:
        raise ReserveNotEligible(
            f"a {asset.currency} reserve holds only {', '.join(allowed) or 'nothing'}; {asset.code} is a {asset.kind}"
        )


# -- full reserves -----------------------------------------------------------------

#: Amounts of one currency but different exponents compare at this scale.
_SCALE = 18


def at_scale(minor: int, exponent: int) -> int:
    return minor * 10 ** (_SCALE - exponent)


def require_full_reserve(issuer: str, currency: str, supply: int, reserve: int, exponent: int) -> None:
    """``supply`` and ``reserve`` at the common scale; refuse if the reserve falls short."""
    if reserve < supply:
        short = (supply - reserve) // 10 ** (_SCALE - exponent)
        raise ReserveShortfall(
            f"{issuer}'s {currency} reserve would be {short} minor units short of the stablecoin it has issued; "
            "every stablecoin is fully reserved"
        )


# -- capital-flow controls ---------------------------------------------------------

@dataclass(frozen=True, slots=True)
class FlowPolicy:
    """The cross-border and capital-flow settings of ``policy.toml`` (amounts in USD cents)."""

    home_currency: dict[str, str]
    timezone: dict[str, str]
    dealer: str
    spread_bps: int
    fee_bps: int
    quote_ttl_s: int
    bridge: str
    outflow_limit_usd: int
    outflow_kinds: tuple[str, ...]
    outflow_jurisdictions: tuple[str, ...]
    breaker_asset: str
    breaker_window_s: int
    breaker_share: Fraction
    travel_rule_usd: int
    travel_window_s: int
    rates: Rates

    def is_limited(self, p: Participant) -> bool:
        """Whether ``p``'s outflows count against the yearly limit."""
        return p.resident and p.kind in self.outflow_kinds and p.jurisdiction in self.outflow_jurisdictions

    def firm_rate(self, sell_currency: str, buy_currency: str) -> str:
        """The dealer's rate: units of ``buy_currency`` per unit of ``sell_currency``, mid less its spread, cut (never rounded up) to ten digits.

        The least a firm quote may give (a better rate, up to mid, is the dealer's to give).
        """
        rate = self.rates.cross(sell_currency, buy_currency) * Fraction(10_000 - self.spread_bps, 10_000)
        return str(Context(prec=RATE_DIGITS, rounding=ROUND_FLOOR).divide(Decimal(rate.numerator), Decimal(rate.denominator)))

    def fee_on(self, amount: int) -> int:
        """The dealer's fee on selling ``amount`` minor units to it, rounded up: the most a firm quote may charge."""
        return math.ceil(Fraction(amount * self.fee_bps, 10_000))


@cache
def load_flow_policy() -> FlowPolicy:
    """The flow rules of ``fixtures/policy.toml`` (read once per process)."""
    data = _policy_data()
    places = data["jurisdictions"]
    dealer, limit, breaker = data["dealer"], data["outflow_limit"], data["run_breaker"]
    return FlowPolicy(
        home_currency={j: v["currency"] for j, v in places.items()},
        timezone={j: v["timezone"] for j, v in places.items()},
        dealer=dealer["id"],
        spread_bps=int(dealer["spread_bps"]),
        fee_bps=int(dealer["fee_bps"]),
        quote_ttl_s=int(dealer["quote_ttl_seconds"]),
        bridge=data["crossborder"]["bridge"],
        outflow_limit_usd=parse_amount(limit["usd"], USD_EXPONENT),
        outflow_kinds=tuple(limit["kinds"]),
        outflow_jurisdictions=tuple(limit["jurisdictions"]),
        breaker_asset=breaker["asset"],
        breaker_window_s=int(breaker["window_seconds"]),
        breaker_share=Fraction(Decimal(breaker["share_of_supply"])),
        travel_rule_usd=parse_amount(data["travel_rule"]["usd"], USD_EXPONENT),
        travel_window_s=int(data["travel_rule"]["linked_window_seconds"]),
        rates=reference_rates(),
    )
