"""Cross-border rules and capital-flow controls, as the book runs them on each transaction.

The book hands :class:`Controls` each transaction's legs with their accounts,
owners and assets resolved (:class:`LegView`); the rules look only at those
legs, never at a transaction's kind or at which command built it, so a
hand-signed transaction submitted in a batch meets exactly the rules a CLI
``send`` meets:

- **Quotes**: a transaction bound to a dealer's quote must name a stored,
  unused, unexpired quote with the same terms, and its legs must move exactly
  the quoted amounts through the dealer (``QUOTE_EXPIRED``).
- **Travel rule**: value crossing borders is measured per jurisdiction: the
  net value (in USD) the transaction moves into or out of the customers of
  each jurisdiction. What leaves one jurisdiction's customers and reaches
  another's has crossed a border; from the threshold on the transaction must
  carry originator and beneficiary data that agree with the registry and the
  legs (``TRAVEL_RULE``). Two domestic payments in one transaction cross
  nothing.
- **Outflow limit**: a limited resident's net home-currency debit counts
  against a yearly limit in USD (``OUTFLOW_LIMIT``) when the transaction
  credits them a foreign-currency asset (a conversion) or moves value from
  their jurisdiction's customers to another's (a send abroad).
- **Run breaker**: net conversions out of the watched stablecoin (paid to a
  dealer against an asset of another currency) inside a sliding window may not
  exceed a share of its supply; the conversion that would pass it trips the
  breaker, which refuses conversions out until the hold ends (``RUN_BREAKER``).
  Conversions in stay open.

Holds count when they are made; a void or an expiry gives back what its hold
took, and a partial post keeps only what it posts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

from ledger import chain
from ledger.errors import BadInput, OutflowLimit, QuoteExpired, RunBreaker, TravelRule
from ledger.model import REVERSAL, Account, Leg, Participant, Quote, QuoteTerms, Tx
from ledger.money import Asset, format_amount
from ledger.policy import CUSTOMER_KINDS, DEALER_KIND, FlowPolicy
from ledger.rates import USD_EXPONENT, round_up
from ledger.store import UnitOfWork


@dataclass(frozen=True, slots=True)
class LegView:
    """A leg with what the rules need to know of it."""

    leg: Leg
    asset: Asset
    debit: Account
    credit: Account
    debtor: Participant
    creditor: Participant


@dataclass(slots=True)
class ControlEffect:
    """What one transaction adds to the controls' records, kept only if it is accepted."""

    quote_used: str | None = None
    outflows: dict[tuple[str, int], int] = field(default_factory=dict)
    conversion_out: int = 0


class Controls:
    """The controls' view inside one write transaction: read lazily, plus what accepted items added."""

    def __init__(self, uow: UnitOfWork, policy: FlowPolicy) -> None:
        self.uow = uow
        self.policy = policy
        self._outflow_totals: dict[tuple[str, int], int] = {}
        self._window_net: int | None = None
        self._halted: dict[str, str | None] = {}
        self._quotes: dict[str, Quote | None] = {}
        self._used_quotes: set[str] = set()
        # Written at the end of the write transaction:
        self.quote_uses: list[tuple[str, str]] = []
        self.outflow_rows: list[tuple[int, str, int, int]] = []
        self.conversion_rows: list[tuple[int, str, str, int]] = []
        self.trips: list[tuple[str, str, str, int, int]] = []

    # -- checks -------------------------------------------------------------
    def check_terms(self, tx: Tx, views: Sequence[LegView], now: str) -> ControlEffect:
        """Quote and travel rule: what the signed payload must carry. Run before funds are checked."""
        effect = ControlEffect()
        if tx.quote is not None:
            self._check_quote(tx, tx.quote, views, now)
            effect.quote_used = tx.quote.id
        if tx.kind != REVERSAL:  # a reversal undoes a transaction whose own data travelled with it
            self._check_travel(tx, views)
        return effect

    def check_flows(self, effect: ControlEffect, views: Sequence[LegView], now: str, supply: Callable[[str], int]) -> None:
        """Outflow limit and run breaker: run last, once every other rule has accepted the transaction."""
        effect.outflows = self.outflows(views, now)
        for (participant, year), usd in effect.outflows.items():
            used = self._outflow_total(participant, year)
            limit = self.policy.outflow_limit_usd
            if used + usd > limit:
                raise OutflowLimit(
                    f"{participant} has sent or converted USD {_usd(used)} abroad in {year}; this adds USD {_usd(usd)} "
                    f"and the yearly limit for residents is USD {_usd(limit)}"
                )
        effect.conversion_out = self.conversion_out(views)
        if effect.conversion_out > 0:
            watched = next(v.asset for v in views if v.asset.code == self.policy.breaker_asset)
            self._check_breaker(effect.conversion_out, now, supply, watched.exponent)

    def release(self, held: Sequence[LegView], posted: Sequence[LegView], now: str) -> ControlEffect:
        """A hold finishes: keep what ``posted`` moves, give back the rest of what ``held`` counted."""
        effect = ControlEffect()
        before, after = self.outflows(held, now), self.outflows(posted, now)
        for key in before.keys() | after.keys():
            change = after.get(key, 0) - before.get(key, 0)
            if change:
                effect.outflows[key] = change
        effect.conversion_out = self.conversion_out(posted) - self.conversion_out(held)
        return effect

    # -- what a transaction counts as ------------------------------------------
    def outflows(self, views: Sequence[LegView], now: str) -> dict[tuple[str, int], int]:
        """USD cents leaving each limited resident in these legs, by (participant, calendar year)."""
        found: dict[tuple[str, int], int] = {}
        nets: dict[str, Fraction] | None = None
        for person in {v.debtor.id: v.debtor for v in views}.values():
            if not self.policy.is_limited(person):
                continue
            home = self.policy.home_currency[person.jurisdiction]
            converts = any(v.creditor.id == person.id and v.asset.currency != home for v in views)
            if not converts:
                if _customer_jurisdictions(views) <= {person.jurisdiction}:
                    continue  # (fast path) no other jurisdiction's customer is in it: nothing left the country
                nets = self.jurisdiction_nets(views) if nets is None else nets
                if nets.get(person.jurisdiction, 0) >= 0 or not any(n > 0 for j, n in nets.items() if j != person.jurisdiction):
                    continue
            rates = self.policy.rates
            out = sum(rates.usd_minor(v.leg.amount, v.asset.exponent, home) for v in views if v.debtor.id == person.id and v.asset.currency == home)
            back = sum(rates.usd_minor(v.leg.amount, v.asset.exponent, home) for v in views if v.creditor.id == person.id and v.asset.currency == home)
            if out - back > 0:
                found[(person.id, self._year(now, person.jurisdiction))] = round_up(out - back)
        return found

    def jurisdiction_nets(self, views: Sequence[LegView]) -> dict[str, Fraction]:
        """Net value in US cents each jurisdiction's customers receive (negative: pay) in these legs."""
        nets: dict[str, Fraction] = {}
        rates = self.policy.rates
        for v in views:
            value = rates.usd_minor(v.leg.amount, v.asset.exponent, v.asset.currency)
            if v.creditor.kind in CUSTOMER_KINDS:
                nets[v.creditor.jurisdiction] = nets.get(v.creditor.jurisdiction, Fraction(0)) + value
            if v.debtor.kind in CUSTOMER_KINDS:
                nets[v.debtor.jurisdiction] = nets.get(v.debtor.jurisdiction, Fraction(0)) - value
        return nets

    def cross_border_value(self, views: Sequence[LegView]) -> Fraction:
        """What demonstrably crossed: the lesser of what some jurisdictions' customers paid and others received."""
        if len(_customer_jurisdictions(views)) < 2:
            return Fraction(0)  # (fast path) customers of one jurisdiction at most: nothing crossed
        nets = self.jurisdiction_nets(views)
        received = sum((n for n in nets.values() if n > 0), Fraction(0))
        paid = -sum((n for n in nets.values() if n < 0), Fraction(0))
        return min(received, paid)

    def conversion_out(self, views: Sequence[LegView]) -> int:
        """Net amount of the watched stablecoin paid to dealers against another currency (negative: bought back)."""
        watched = self.policy.breaker_asset
        if not any(v.asset.code == watched for v in views):
            return 0
        currency = next(v.asset.currency for v in views if v.asset.code == watched)
        exchanged = any(
            v.asset.currency != currency and DEALER_KIND in (v.debtor.kind, v.creditor.kind) for v in views
        )
        if not exchanged:
            return 0
        into = sum(v.leg.amount for v in views if v.asset.code == watched and v.creditor.kind == DEALER_KIND and v.debtor.kind != DEALER_KIND)
        back = sum(v.leg.amount for v in views if v.asset.code == watched and v.debtor.kind == DEALER_KIND and v.creditor.kind != DEALER_KIND)
        return into - back

    # -- keeping ---------------------------------------------------------------
    def commit(self, tx_id: str, effect: ControlEffect, seq: int, now: str) -> None:
        if effect.quote_used is not None:
            self._used_quotes.add(effect.quote_used)
            self.quote_uses.append((effect.quote_used, tx_id))
        for (participant, year), usd in effect.outflows.items():
            self._outflow_totals[(participant, year)] = self._outflow_total(participant, year) + usd
            self.outflow_rows.append((seq, participant, year, usd))
        if effect.conversion_out:
            self._window_net = self._net_in_window(now) + effect.conversion_out
            self.conversion_rows.append((seq, now, self.policy.breaker_asset, effect.conversion_out))

    # -- the rules ---------------------------------------------------------------
    def _check_quote(self, tx: Tx, terms: QuoteTerms, views: Sequence[LegView], now: str) -> None:
        if terms.id not in self._quotes:
            self._quotes[terms.id] = self.uow.quote(terms.id)
        quote = self._quotes[terms.id]
        if quote is None:
            raise BadInput(f"no quote {terms.id}: ask the dealer for one with `wonledger quote`")
        if quote.terms != terms:
            raise BadInput(f"{tx.id} is signed with terms that differ from quote {terms.id} (rate, source or expiry)")
        if quote.used_by is not None or terms.id in self._used_quotes:
            raise QuoteExpired(f"quote {terms.id} was already taken by {quote.used_by or 'an earlier transaction'}; ask for a new one")
        if now > quote.expires_at:
            raise QuoteExpired(f"quote {terms.id} expired at {quote.expires_at}; ask for a new one")
        sold = [v for v in views if v.asset.code == quote.sell_asset and v.creditor.id == quote.dealer and v.debtor.id != quote.dealer]
        bought = [v for v in views if v.asset.code == quote.buy_asset and v.debtor.id == quote.dealer and v.creditor.id != quote.dealer]
        fee_paid = quote.fee == 0 or any(v.leg.amount == quote.fee for v in sold)
        if sum(v.leg.amount for v in sold) != quote.sell_amount or sum(v.leg.amount for v in bought) != quote.buy_amount or not fee_paid:
            raise BadInput(
                f"{tx.id} does not move what quote {terms.id} says: {quote.sell_amount} {quote.sell_asset} "
                f"(fee {quote.fee} its own leg) to {quote.dealer} for {quote.buy_amount} {quote.buy_asset}"
            )

    def _check_travel(self, tx: Tx, views: Sequence[LegView]) -> None:
        debtors = {v.debtor.id: v.debtor for v in views if v.debtor.kind in CUSTOMER_KINDS}
        if tx.travel is None:
            if not debtors:
                return  # no customer pays: nothing a customer sends crosses a border
            value = self.cross_border_value(views)
            if value >= self.policy.travel_rule_usd:
                raise TravelRule(
                    f"{tx.id} sends USD {_usd(round_up(value))} abroad; from USD {_usd(self.policy.travel_rule_usd)} "
                    "it must carry originator and beneficiary data (FATF Recommendation 16)"
                )
            return
        # Data that travels must be true, whatever the amount.
        origin, beneficiary = tx.travel.originator, tx.travel.beneficiary
        sender = debtors.get(origin.id)
        if sender is None or not any(v.debtor.id == origin.id and v.debit.id == origin.account for v in views):
            raise TravelRule(f"travel originator {origin.id} ({origin.account}) is not a customer this transaction debits")
        receiver = next((v.creditor for v in views if v.creditor.id == beneficiary.id and v.credit.id == beneficiary.account), None)
        if receiver is None or receiver.kind not in CUSTOMER_KINDS:
            raise TravelRule(f"travel beneficiary {beneficiary.id} ({beneficiary.account}) is not a customer this transaction credits")
        if sender.jurisdiction == receiver.jurisdiction:
            raise TravelRule(f"travel data names {origin.id} and {beneficiary.id}, both in {sender.jurisdiction}: nothing crosses a border")
        for party, registered in ((origin, sender), (beneficiary, receiver)):
            if (party.kind, party.jurisdiction) != (registered.kind, registered.jurisdiction):
                raise TravelRule(
                    f"travel data says {party.id} is a {party.kind} in {party.jurisdiction}; "
                    f"the registry says {registered.kind} in {registered.jurisdiction}"
                )

    def _check_breaker(self, amount_out: int, now: str, supply: Callable[[str], int], exponent: int) -> None:
        watched = self.policy.breaker_asset
        if watched not in self._halted:
            self._halted[watched] = self.uow.halted_until(watched, now)
        until = self._halted[watched]
        if until is not None and until > now:
            raise RunBreaker(f"conversions out of {watched} are halted until {until} (run breaker); conversions into {watched} stay open")
        net = self._net_in_window(now) + amount_out
        issued = supply(watched)
        if net * self.policy.breaker_share.denominator > issued * self.policy.breaker_share.numerator:
            until = chain.iso(chain.parse_iso(now) + timedelta(seconds=self.policy.breaker_hold_s))
            self._halted[watched] = until
            self.trips.append((watched, now, until, net, issued))
            share = self.policy.breaker_share
            raise RunBreaker(
                f"net conversions out of {watched} in the last {self.policy.breaker_window_s // 60} minutes would reach "
                f"{format_amount(net, exponent)} {watched}, over {share.numerator * 100 / share.denominator:g}% of the "
                f"{format_amount(issued, exponent)} {watched} in issue: the run breaker tripped; "
                f"conversions out of {watched} are halted until {until}"
            )

    # -- lazy reads ------------------------------------------------------------------
    def _outflow_total(self, participant: str, year: int) -> int:
        key = (participant, year)
        if key not in self._outflow_totals:
            self._outflow_totals[key] = self.uow.outflow_total(participant, year)
        return self._outflow_totals[key]

    def _net_in_window(self, now: str) -> int:
        if self._window_net is None:
            since = chain.iso(chain.parse_iso(now) - timedelta(seconds=self.policy.breaker_window_s))
            self._window_net = self.uow.net_conversions_since(self.policy.breaker_asset, since)
        return self._window_net

    def _year(self, now: str, jurisdiction: str) -> int:
        return chain.parse_iso(now).astimezone(ZoneInfo(self.policy.timezone[jurisdiction])).year


def _usd(cents: int) -> str:
    return format_amount(cents, USD_EXPONENT)


def _customer_jurisdictions(views: Sequence[LegView]) -> set[str]:
    """The jurisdictions of the customers these legs pay or are paid by (the keys of jurisdiction_nets)."""
    return {p.jurisdiction for v in views for p in (v.debtor, v.creditor) if p.kind in CUSTOMER_KINDS}
