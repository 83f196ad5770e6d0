"""Cross-border rules and capital-flow controls: pure rules over an in-memory :class:`ControlState`.

Nothing here reads or writes a database. The book and ``verify``'s replay run
the very same code, so there is one definition of every control:

- ``Controls(policy).check(state, tx, views, signers, now) -> ControlEffect``
  checks one transaction (its legs resolved into :class:`LegView`) and raises
  the refusal (``QUOTE_EXPIRED``/``BAD_INPUT`` for quotes, ``TRAVEL_RULE``,
  ``OUTFLOW_LIMIT``, ``RUN_BREAKER``); it never changes ``state``.
- ``Controls(policy).release(state, hold_id, held_views, posted_views, hold_at, now) -> ControlEffect``:
  a hold ends (post, void or expiry; a conditional hold's fulfil, reject or
  expiry); what it counted when it was made is given back, into the period
  and window it was counted in, less what the post (or fulfil) keeps.
- ``state.apply(effect, seq, tx_id, now)``: only for an accepted transaction.
  A refused one changes no control state, ever (its refusal is recorded in
  ``report rejections``, which is not control state).
- ``effect.rows(seq, tx_id)`` is what the store persists (:class:`ControlRows`);
  ``needs(...)`` (:class:`ControlKeys`) says what a chunk needs loaded up front;
  ``compare(stored_rows, replayed_state)`` names the first difference per table
  between what is stored and what a replay from ``ControlState(record=True)`` gives.

The definitions (docs/controls.md):

- **A conditional hold** is one leg of a payment whose other leg is a hold on
  the partner ledger. Its travel data names the party there (by reference),
  and it is measured as the payment it is part of: its own legs, plus the
  *partner leg* that party's side implies (the one who is paid here passing
  the value on to a beneficiary there, or an originator there paying the one
  who pays here), worth what the legs here move (less a firm quote's fee leg,
  the dealer's price), in the home currency of that party's jurisdiction.
  Nothing of the partner leg is counted for the party there (it is not this
  ledger's resident); it makes the path, the exchange and the border crossing
  visible here.

- **Following value.** Inside one transaction every leg moves value (at the
  reference rates, in US cents) from the owner of its debit account to the
  owner of its credit account (legs between one owner's own accounts move
  nothing). A party that both receives and pays pays first out of what it
  received, in proportion to whom it received it from, and the rest out of
  its own funds; what it receives beyond what it pays it keeps. So value is
  followed, leg by leg, from the party whose own value it is (the *true
  originator*) to the party that keeps it (the *true beneficiary*), through
  any number of intermediaries in the same atomic transaction: the issuer
  that mints at par, the dealer of a payment-versus-payment exchange, a
  nonbank, a bank, a corporate. Nothing is netted between different parties
  or different legs: every unit is followed on its own path.
- **Cross-border movement**: value whose path crosses from a party of one
  jurisdiction to a party of another, whatever their kinds. A transaction
  moving USD 1,000 or more across borders from one originator to one
  beneficiary (alone, or with that pair's other movements in the last 24
  hours) names the originator and each such beneficiary, truly (FATF R.16).
  What the dealer keeps of an exchange at its firm quote (its spread and fee,
  which the quote in the signed transaction bounds) is the price of the
  exchange, not a transfer to name; an exchange at no firm quote keeps
  nothing exempt, whoever is party to it.
- **Residents' outflow**: for a limited resident, everything they pay in a
  transaction (their own value, or value passed through them) whose path
  leaves the country and does not come back to them, plus the
  foreign-currency value they receive in a transaction that exchanges their
  home currency for another (a conversion, whoever funds it), counts once,
  in the calendar year (their time zone) of the transaction, or of the hold
  it belongs to.
- **Run breaker**: KRWS that parties of its home jurisdiction pay to a party
  of another which, in the same transaction, pays out an asset of another
  currency (the dealer or any peer; it signed, since it is debited) is
  converted out: all of it, or at the dealer's firm quote up to the value it
  pays out; the reverse is converted in, up to the value paid for it. The
  net converted out within the sliding window may not pass the share of the
  smallest KRWS supply since the window began (a mint in the same window,
  or in the transaction itself, does not raise it).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from wonledger.domain import chain
from wonledger.domain.errors import BadInput, OutflowLimit, QuoteExpired, RunBreaker, TravelRule
from wonledger.domain.model import HOLD, ISSUANCE, Account, ControlKeys, ControlTables, Leg, Participant, Party, QuoteTerms, Travel, Tx
from wonledger.domain.money import Asset, format_amount
from wonledger.domain.strict import unb64url
from wonledger.rulebook.policy import DEALER_KIND, FlowPolicy, load_flow_policy
from wonledger.rulebook.rates import USD_EXPONENT


@dataclass(frozen=True, slots=True)
class LegView:
    """A leg with what the rules need to know of it."""

    leg: Leg
    asset: Asset
    debit: Account
    credit: Account
    debtor: Participant
    creditor: Participant
    #: the value in US minor units, for a conditional hold's partner leg (whose amount is on the other ledger)
    usd: Fraction | None = None


# -- what is persisted ------------------------------------------------------------


@dataclass(slots=True)
class ControlRows:
    """Rows of the control tables (what the store keeps beside the journal).

    - ``quote_uses``: (quote id, transaction that took it)
    - ``outflows``: (seq, participant, year, USD cents; negative: given back)
    - ``conversions``: (seq, counted at, asset, amount converted out; negative: in or given back)
    - ``travel``: (seq, counted at, originator, beneficiary, USD cents moved across borders)
    """

    quote_uses: list[tuple[str, str]] = field(default_factory=list)
    outflows: list[tuple[int, str, int, int]] = field(default_factory=list)
    conversions: list[tuple[int, str, str, int]] = field(default_factory=list)
    travel: list[tuple[int, str, str, str, int]] = field(default_factory=list)

    def extend(self, other: ControlRows) -> None:
        self.quote_uses.extend(other.quote_uses)
        self.outflows.extend(other.outflows)
        self.conversions.extend(other.conversions)
        self.travel.extend(other.travel)

    def __bool__(self) -> bool:
        return bool(self.quote_uses or self.outflows or self.conversions or self.travel)

    def tables(self) -> ControlTables:
        """These rows as the store takes them."""
        return ControlTables(tuple(self.quote_uses), tuple(self.outflows), tuple(self.conversions), tuple(self.travel))


@dataclass(slots=True)
class ControlEffect:
    """What one accepted transaction adds to the control state (nothing is kept for a refused one).

    ``counted_at`` is the moment the figures count in: the transaction's commit
    time, or for a hold that ends, the time the hold was made.
    """

    counted_at: str
    asset: str
    quote_used: str | None = None
    outflows: dict[tuple[str, int], int] = field(default_factory=dict)
    conversion_out: int = 0
    travel: dict[tuple[str, str], int] = field(default_factory=dict)
    supply_change: int = 0

    def __bool__(self) -> bool:
        """Whether it adds anything (most domestic transfers add nothing)."""
        return bool(self.quote_used is not None or self.outflows or self.conversion_out or self.travel or self.supply_change)

    def rows(self, seq: int, tx_id: str) -> ControlRows:
        rows = ControlRows()
        if self.quote_used is not None:
            rows.quote_uses.append((self.quote_used, tx_id))
        rows.outflows.extend((seq, p, year, usd) for (p, year), usd in sorted(self.outflows.items()) if usd)
        if self.conversion_out:
            rows.conversions.append((seq, self.counted_at, self.asset, self.conversion_out))
        rows.travel.extend((seq, self.counted_at, o, b, usd) for (o, b), usd in sorted(self.travel.items()) if usd)
        return rows


# -- what the rules read ------------------------------------------------------------


class ControlState:
    """Everything the controls read, in memory: loaded for a chunk by the store, or rebuilt by a replay.

    - ``outflows``: counted USD cents per (participant, year);
    - ``conversions``: (counted at, amount) of the breaker's asset, oldest first;
    - ``supply``: its posted supply now; ``supply_path``: (at, supply after) of each
      change since the window began, and ``supply_before`` the supply before the first;
    - ``travel``: per (originator, beneficiary), (counted at, USD cents) of movements across borders;
    - ``used_quotes`` (quote id → the transaction that took it). Offered quotes are not read: what
      binds an exchange is the quote inside the transaction its dealer signs.

    With ``record=True`` (a replay) every row applied is also kept in ``record``,
    for :func:`compare`. Entries older than the windows are dropped as time passes.
    """

    def __init__(
        self,
        *,
        outflows: dict[tuple[str, int], int] | None = None,
        conversions: Iterable[tuple[str, int]] = (),
        supply: int = 0,
        supply_path: Iterable[tuple[str, int]] = (),
        supply_before: int | None = None,
        travel: dict[tuple[str, str], list[tuple[str, int]]] | None = None,
        used_quotes: dict[str, str] | None = None,
        record: bool = False,
        policy: FlowPolicy | None = None,
    ) -> None:
        policy = policy or load_flow_policy()
        self.breaker_window_s = policy.breaker_window_s
        self.travel_window_s = policy.travel_window_s
        self.outflows = dict(outflows or {})
        self.conversions = sorted(conversions)
        self.supply = supply
        self.supply_path = sorted(supply_path)
        #: the supply before the first change in ``supply_path`` (with no path: the supply now)
        self.supply_before = supply if supply_before is None else supply_before
        self.travel = {k: sorted(v) for k, v in (travel or {}).items()}
        self.used_quotes = dict(used_quotes or {})
        self.record: ControlRows | None = ControlRows() if record else None

    # -- reading --------------------------------------------------------------------
    def outflow(self, participant: str, year: int) -> int:
        return self.outflows.get((participant, year), 0)

    def net_converted_since(self, since: str) -> int:
        start = bisect.bisect_right(self.conversions, (since, math.inf))
        return sum(amount for _, amount in self.conversions[start:])

    def least_supply_since(self, since: str) -> int:
        """The smallest posted supply from ``since`` to now: at ``since``, or after any change since.

        Moments with nothing in issue (before the coin's first mint) do not count:
        there was no supply to run on.
        """
        start = bisect.bisect_right(self.supply_path, (since, math.inf))
        at_start = self.supply_path[start - 1][1] if start else self.supply_before
        found = [s for s in (at_start, *(s for _, s in self.supply_path[start:])) if s > 0]
        return min(found) if found else 0

    def moved_since(self, pair: tuple[str, str], since: str) -> int:
        found = self.travel.get(pair, ())
        start = bisect.bisect_right(found, (since, math.inf))
        return sum(usd for _, usd in found[start:])

    # -- applying (accepted transactions only) ---------------------------------------
    def apply(self, effect: ControlEffect, seq: int, tx_id: str, now: str) -> None:
        """Keep what an accepted transaction (or the end of a hold) adds."""
        if not effect:
            return
        if effect.quote_used is not None:
            self.used_quotes[effect.quote_used] = tx_id
        for key, usd in effect.outflows.items():
            self.outflows[key] = self.outflows.get(key, 0) + usd
        if effect.conversion_out:
            bisect.insort(self.conversions, (effect.counted_at, effect.conversion_out))
        for pair, usd in effect.travel.items():
            bisect.insort(self.travel.setdefault(pair, []), (effect.counted_at, usd))
        if effect.supply_change:
            self.supply += effect.supply_change
            self.supply_path.append((now, self.supply))
        if self.record is not None:
            self.record.extend(effect.rows(seq, tx_id))
        if effect.conversion_out or effect.travel or effect.supply_change:
            self._forget_before(now)

    def _forget_before(self, now: str) -> None:
        moment = chain.parse_iso(now)
        breaker_since = chain.iso(moment - timedelta(seconds=self.breaker_window_s))
        if self.conversions and self.conversions[0][0] <= breaker_since:
            del self.conversions[: bisect.bisect_right(self.conversions, (breaker_since, math.inf))]
        old = bisect.bisect_right(self.supply_path, (breaker_since, math.inf))
        if old:
            self.supply_before = self.supply_path[old - 1][1]
            del self.supply_path[:old]
        if self.travel:
            travel_since = chain.iso(moment - timedelta(seconds=self.travel_window_s))
            for pair in [p for p, found in self.travel.items() if found[0][0] <= travel_since]:
                found = self.travel[pair]
                del found[: bisect.bisect_right(found, (travel_since, math.inf))]
                if not found:
                    del self.travel[pair]


def compare(stored: ControlRows | ControlTables, replayed: ControlState) -> list[tuple[str, str]]:
    """(table, detail) for the first difference in each control table between ``stored`` and a replay's record."""
    if replayed.record is None:
        raise ValueError("compare needs a ControlState made with record=True (a replay)")
    mine = replayed.record
    found = []
    tables = (
        ("quote_uses", sorted(stored.quote_uses), sorted(mine.quote_uses), ("quote", "used by")),
        ("outflows", sorted(stored.outflows), sorted(mine.outflows), ("seq", "participant", "year", "usd_minor")),
        ("conversions", sorted(stored.conversions), sorted(mine.conversions), ("seq", "at", "asset", "amount_out")),
        ("travel_movements", sorted(stored.travel), sorted(mine.travel), ("seq", "at", "originator", "beneficiary", "usd_minor")),
    )
    for table, kept, journal, names in tables:
        if kept == journal:
            continue
        for n in range(max(len(kept), len(journal))):
            a = kept[n] if n < len(kept) else None
            b = journal[n] if n < len(journal) else None
            if a != b:
                shown = lambda row, names=names: "nothing" if row is None else ", ".join(f"{k} {v}" for k, v in zip(names, row, strict=True))  # noqa: E731
                found.append((table, f"{table} stores {shown(a)} where the journal gives {shown(b)}"))
                break
    return found


# -- the rules -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BreakerView:
    """The run breaker at a moment: its window, the net converted out in it, the least supply since it began."""

    window_start: str
    net_out: int
    supply: int
    threshold: int
    #: while the window's net leaves no room for any conversion out: when room opens again
    closed_until: str | None


@dataclass(slots=True)
class _Measure:
    """What a set of legs amounts to for the controls (exact values; rounded when counted)."""

    crossed: dict[tuple[str, str], Fraction] = field(default_factory=dict)
    exempt: set[tuple[str, str]] = field(default_factory=set)
    outflows: dict[str, Fraction] = field(default_factory=dict)
    #: the jurisdiction of each limited resident in ``outflows`` (whose calendar the year is)
    places: dict[str, str] = field(default_factory=dict)
    conversion_out: int = 0
    supply_change: int = 0


class Controls:
    """The capital-flow rules of ``policy``; holds no state of its own."""

    def __init__(self, policy: FlowPolicy) -> None:
        self.policy = policy
        self._cent_of: dict[tuple[str, int], Fraction] = {}

    # -- the API ------------------------------------------------------------------------
    def check(
        self,
        state: ControlState,
        tx: Tx,
        views: Sequence[LegView],
        signers: Iterable[str] | None,
        now: str,
        enforce: bool = True,
    ) -> ControlEffect:
        """Refuse ``tx`` if a control forbids it; else what it adds to ``state`` once accepted.

        With ``enforce=False`` nothing is refused, only measured: how a ledger
        upgraded from an older wonledger rebuilds its control tables over entries
        accepted under that version's rules.
        """
        effect = ControlEffect(counted_at=now, asset=self.policy.breaker_asset)
        if tx.quote is not None:
            if enforce:
                self._check_quote(state, tx, tx.quote, views, now)
            effect.quote_used = tx.quote.id
        if tx.condition is not None:
            if enforce and (tx.travel is None or tx.travel.remote is None) and not self._domestic(views):
                raise TravelRule(
                    f"{tx.id} is a conditional hold moving value across a border or out of its home currency: its travel data "
                    "names its party on the partner ledger, at any amount (that is where this ledger sees the value go)"
                )
            views, intermediary = self.with_partner(views, tx.travel, tx.quote is not None)
            if intermediary is not None and signers is not None:
                signers = {*signers, intermediary}  # it signs its own side, the partner hold, on the other ledger
        if self._domestic(views):
            if tx.travel is not None and enforce:
                raise TravelRule(f"{tx.id} carries travel data but moves nothing across a border")
            return effect  # (fast path) one jurisdiction, its home currency only: no control is touched
        measure = self.measure(views, signers, quoted=tx.quote is not None)
        if tx.kind == HOLD:
            measure.supply_change = 0  # a pending mint is not supply until it is posted
        if enforce:
            self._check_travel(state, tx, views, measure, now)
        self._fill(effect, measure, now)
        if enforce:
            self._check_outflows(state, effect)
            if effect.conversion_out > 0:
                self._check_breaker(state, effect.conversion_out, effect.supply_change, views, now)
        return effect

    def check_quote(self, state: ControlState, tx: Tx, views: Sequence[LegView], now: str) -> None:
        """The terms a transaction is bound to: an untaken, unexpired firm quote of the dealer, which its legs move exactly.

        The rulebook runs this with the other checks of what a transaction is
        (before funds), so a reused or expired quote is refused as such
        whatever the payer holds; :meth:`check` runs it again among the controls.
        """
        if tx.quote is not None:
            self._check_quote(state, tx, tx.quote, views, now)

    def with_partner(self, views: Sequence[LegView], travel: Travel | None, quoted: bool) -> tuple[list[LegView], str | None]:
        """A conditional hold's legs with the partner leg its travel data implies, and who passes value across (or None).

        The party on the partner ledger either receives what the one paid here
        passes on, or pays the one who pays here. The partner leg is worth what
        the legs here move, less a firm quote's fee leg (the dealer's price).
        """
        remote = travel.remote if travel is not None else None
        if remote is None or not views:
            return list(views), None
        local = views[0]
        if remote is travel.originator:  # type: ignore[union-attr]
            if len({v.debtor.id for v in views}) != 1:
                raise TravelRule(f"travel data names {remote.id} on the partner ledger as originator: the legs here are paid by one party")
            usd = sum((self._value(v) for v in views), Fraction(0))
            return [*views, self._partner_leg(remote, local.debtor, local.debit, usd, paying=True, currency=local.asset.currency)], local.debtor.id
        if len({v.creditor.id for v in views}) != 1:
            raise TravelRule(f"travel data names {remote.id} on the partner ledger as beneficiary: the legs here pay one party")
        passed = views[:-1] if quoted and len(views) == 2 else views  # a firm quote's fee leg is the dealer's own
        usd = sum((self._value(v) for v in passed), Fraction(0))
        return [*views, self._partner_leg(remote, local.creditor, local.credit, usd, paying=False, currency=local.asset.currency)], local.creditor.id

    def _partner_leg(self, remote: Party, here: Participant, account: Account, usd: Fraction, *, paying: bool, currency: str) -> LegView:
        party = partner_participant(remote)
        asset = Asset(f"{self.policy.home_currency.get(remote.jurisdiction, currency)}.partner", self.policy.home_currency.get(remote.jurisdiction, currency), "correspondent_balance", 0, remote.id)
        far = Account(id=remote.account, owner=remote.id, asset=asset.code, flags=frozenset())
        if paying:
            return LegView(Leg(remote.account, account.id, asset.code, 1), asset, far, account, party, here, usd)
        return LegView(Leg(account.id, remote.account, asset.code, 1), asset, account, far, here, party, usd)

    def _value(self, v: LegView) -> Fraction:
        return v.usd if v.usd is not None else self.policy.rates.usd_minor(v.leg.amount, v.asset.exponent, v.asset.currency)

    def release(
        self,
        state: ControlState,
        hold_id: str,
        held: Sequence[LegView],
        posted: Sequence[LegView],
        hold_at: str,
        now: str,
        quoted: bool = False,
        travel: Travel | None = None,
    ) -> ControlEffect:
        """A hold ends: give back what ``held`` counted, less what ``posted`` keeps, into the hold's own period.

        ``quoted``: the hold is an exchange at a firm quote, and was counted as one. ``travel``: a
        conditional hold's travel data, whose party on the partner ledger it was counted with.
        """
        effect = ControlEffect(counted_at=hold_at, asset=self.policy.breaker_asset)
        held = self.with_partner(held, travel, quoted)[0]
        posted = self.with_partner(posted, travel, quoted)[0]
        if self._domestic(held):
            return effect
        before, after = self.measure(held, None, quoted), self.measure(posted, None, quoted)
        counted, kept = ControlEffect(hold_at, effect.asset), ControlEffect(hold_at, effect.asset)
        self._fill(counted, before, hold_at)
        self._fill(kept, after, hold_at)
        for key in counted.outflows.keys() | kept.outflows.keys():
            effect.outflows[key] = kept.outflows.get(key, 0) - counted.outflows.get(key, 0)
        for pair in counted.travel.keys() | kept.travel.keys():
            effect.travel[pair] = kept.travel.get(pair, 0) - counted.travel.get(pair, 0)
        effect.conversion_out = kept.conversion_out - counted.conversion_out
        effect.supply_change = after.supply_change  # the supply changes when the post books
        return effect

    def status(self, state: ControlState, now: str) -> BreakerView:
        """The run breaker as of ``now``, from a state loaded with its window (see :func:`needs`)."""
        since = self._since(now, self.policy.breaker_window_s)
        least = state.least_supply_since(since)
        share = self.policy.breaker_share
        net = state.net_converted_since(since)
        closed_until = None
        if net * share.denominator >= least * share.numerator:
            # Closed to every conversion out until enough of the window's conversions age out.
            start = bisect.bisect_right(state.conversions, (since, math.inf))
            left = net
            for at, amount in state.conversions[start:]:
                left -= amount
                if left * share.denominator < least * share.numerator:
                    closed_until = chain.iso(chain.parse_iso(at) + timedelta(seconds=self.policy.breaker_window_s))
                    break
        return BreakerView(since, net, least, least * share.numerator // share.denominator, closed_until)

    # -- what legs amount to -------------------------------------------------------------
    def _domestic(self, views: Sequence[LegView]) -> bool:
        """Whether these legs stay among parties of one jurisdiction, in its home currency, off the breaker's asset."""
        if not views:
            return True
        place = views[0].debtor.jurisdiction
        home = self.policy.home_currency.get(place)
        watched = self.policy.breaker_asset
        for v in views:
            if v.debtor.jurisdiction != place or v.creditor.jurisdiction != place:
                return False
            if v.asset.currency != home or v.asset.code == watched:
                return False
        return True

    def measure(self, views: Sequence[LegView], signers: Iterable[str] | None, quoted: bool = False) -> _Measure:
        """Movements across borders by true originator and beneficiary, outflows, conversions and supply.

        ``quoted``: the legs are an exchange at a firm quote (checked by :meth:`check_quote`), so what
        the dealer keeps of it is its price, bounded by the quote's spread and fee; with no firm quote,
        nobody keeps anything exempt, and a conversion counts its whole value.
        """
        m = _Measure()
        policy = self.policy
        people: dict[str, Participant] = {}
        edges: dict[tuple[str, str], Fraction] = {}
        value: list[Fraction] = []
        for v in views:
            people[v.debtor.id] = v.debtor
            people[v.creditor.id] = v.creditor
            usd = policy.rates.usd_minor(v.leg.amount, v.asset.exponent, v.asset.currency) if v.usd is None else v.usd
            value.append(usd)
            if v.debtor.id != v.creditor.id:
                pair = (v.debtor.id, v.creditor.id)
                edges[pair] = edges.get(pair, Fraction(0)) + usd
        # Who exchanges: pays out an asset of one currency and receives one of another (a debtor: it signed).
        paid: dict[str, set[str]] = {}
        got: dict[str, set[str]] = {}
        for v in views:
            if v.debtor.id != v.creditor.id:
                paid.setdefault(v.debtor.id, set()).add(v.asset.currency)
                got.setdefault(v.creditor.id, set()).add(v.asset.currency)
        signed = None if signers is None else set(signers)

        def exchanges(pid: str) -> bool:
            return (signed is None or pid in signed) and any(c != d for c in got.get(pid, ()) for d in paid.get(pid, ()))

        # What the dealer keeps of an exchange at its firm quote is its price, not a transfer to name: the quote
        # bounds it (its spread and fee). Off a firm quote nobody keeps anything exempt (docs/controls.md).
        dealer = policy.dealer if quoted else None
        margin_takers = {pid for pid, p in people.items() if pid == dealer and p.kind == DEALER_KIND and exchanges(pid)}
        jurisdictions = {p.jurisdiction for p in people.values()}
        places = {pid: p.jurisdiction for pid, p in people.items()}
        if len(jurisdictions) > 1:
            for (o, d), usd in _trace(edges, places).items():
                m.crossed[(o, d)] = usd
                if d in margin_takers:
                    m.exempt.add((o, d))
        # Residents' outflow: all they pay that leaves the country (their own value or value passed
        # through them), and the foreign currency they get in an exchange of their home currency.
        for pid, person in people.items():
            if not policy.is_limited(person):
                continue
            home = policy.home_currency[person.jurisdiction]
            out = _leaving(edges, places, pid) if len(jurisdictions) > 1 else Fraction(0)
            foreign_in = sum((u for v, u in zip(views, value, strict=True) if v.creditor.id == pid and v.debtor.id != pid and v.asset.currency != home), Fraction(0))
            foreign_out = sum((u for v, u in zip(views, value, strict=True) if v.debtor.id == pid and v.creditor.id != pid and v.asset.currency != home), Fraction(0))
            if foreign_in > foreign_out and any(home in got.get(x, ()) and exchanges(x) for x in people):
                out += foreign_in - foreign_out  # a conversion of theirs, whoever paid the home currency for it
            if out > 0:
                m.outflows[pid] = out
                m.places[pid] = person.jurisdiction
        m.conversion_out, m.supply_change = self._conversion(views, value, exchanges, margin_takers)
        return m

    def _conversion(self, views, value, exchanges, at_quote: set[str]) -> tuple[int, int]:
        """Net amount of the watched asset converted out by its home parties, and its posted supply change.

        A party abroad that takes the watched asset from home parties and pays out another currency
        converts it out: the dealer at its firm quote (``at_quote``) up to the value it pays out (the
        rest is its price, which the quote bounds), anyone else the whole of what it takes. Conversions
        in count only up to the value paid for them.
        """
        watched = self.policy.breaker_asset
        asset = next((v.asset for v in views if v.asset.code == watched), None)
        if asset is None:
            return 0, 0
        supply = 0
        for v in views:
            if v.asset.code == watched:
                if v.debit.owner == asset.issuer and ISSUANCE in v.debit.flags:
                    supply += v.leg.amount
                if v.credit.owner == asset.issuer and ISSUANCE in v.credit.flags:
                    supply -= v.leg.amount
        homes = {j for j, c in self.policy.home_currency.items() if c == asset.currency}
        received: dict[str, int] = {}
        other: dict[str, Fraction] = {}
        for v, usd in zip(views, value, strict=True):
            if v.debtor.id == v.creditor.id:
                continue
            if v.asset.code == watched:
                if v.debtor.jurisdiction in homes and v.creditor.jurisdiction not in homes:
                    received[v.creditor.id] = received.get(v.creditor.id, 0) + v.leg.amount
                elif v.creditor.jurisdiction in homes and v.debtor.jurisdiction not in homes:
                    received[v.debtor.id] = received.get(v.debtor.id, 0) - v.leg.amount
            elif v.asset.currency != asset.currency:
                other[v.debtor.id] = other.get(v.debtor.id, Fraction(0)) + usd
                other[v.creditor.id] = other.get(v.creditor.id, Fraction(0)) - usd
        unit = self._cent(asset)
        net = 0
        for x, krws in received.items():
            paid_out = other.get(x, Fraction(0)) / unit  # in minor units of the watched asset
            if krws > 0 and paid_out > 0 and exchanges(x):
                net += min(krws, math.ceil(paid_out)) if x in at_quote else krws
            elif krws < 0 and paid_out < 0 and exchanges(x):
                net -= min(-krws, math.floor(-paid_out))
        return net, supply

    def _cent(self, asset: Asset) -> Fraction:
        key = (asset.currency, asset.exponent)
        if key not in self._cent_of:
            self._cent_of[key] = self.policy.rates.usd_minor(1, asset.exponent, asset.currency)
        return self._cent_of[key]

    def _fill(self, effect: ControlEffect, m: _Measure, at: str) -> None:
        for pid, usd in m.outflows.items():
            year = chain.parse_iso(at).astimezone(ZoneInfo(self.policy.timezone[m.places[pid]])).year
            effect.outflows[(pid, year)] = math.ceil(usd)
        for pair, usd in m.crossed.items():
            if pair not in m.exempt:
                effect.travel[pair] = math.ceil(usd)
        effect.conversion_out = m.conversion_out
        effect.supply_change = m.supply_change

    # -- the checks --------------------------------------------------------------------
    def _check_quote(self, state: ControlState, tx: Tx, terms: QuoteTerms, views: Sequence[LegView], now: str) -> None:
        """An exchange at a firm quote, from the signed transaction alone: no offer stored beside the journal is read.

        The dealer signs the transaction (its accounts are debited), so the terms it carries are
        the dealer's; the rules hold them to the policy: taken once, unexpired and firm for at most
        the quote's lifetime, at a rate from the reference mid less the dealer's spread up to mid,
        a fee of at most the dealer's, the legs moving exactly what the terms say, and nothing else
        moving to or from the dealer. So what the dealer keeps is at most its spread and fee.
        """
        policy = self.policy
        dealer = policy.dealer
        self._check_quote_terms(state, terms, now)
        if tx.condition is not None:
            self._check_partner_quote(tx, terms, views)
            return
        sold = [v for v in views if v.creditor.id == dealer and v.debtor.id != dealer]
        bought = [v for v in views if v.debtor.id == dealer and v.creditor.id != dealer]
        sells, buys = {v.asset.code for v in sold}, {v.asset.code for v in bought}
        touching = sum(1 for v in views if dealer in (v.debtor.id, v.creditor.id))
        if len(sells) != 1 or len(buys) != 1 or sells == buys or len(sold) > 2 or touching != len(sold) + len(bought):
            raise BadInput(
                f"{tx.id} is bound to quote {terms.id}: it must sell one asset to {dealer} (the fee a leg of its own) "
                f"for another that {dealer} pays, and move nothing else to or from {dealer}"
            )
        sell, buy = sold[0].asset, bought[0].asset
        sell_amount = sum(v.leg.amount for v in sold)
        fee = sold[-1].leg.amount if len(sold) == 2 else 0
        rate = Fraction(Decimal(terms.rate))
        least, mid = Fraction(Decimal(policy.firm_rate(sell.currency, buy.currency))), policy.rates.cross(sell.currency, buy.currency)
        if not least <= rate <= mid:
            raise BadInput(
                f"quote {terms.id} is at {terms.rate} {buy.code} per {sell.code}; a firm quote of {dealer} is from the "
                f"reference mid less its {policy.spread_bps} bp spread ({policy.firm_rate(sell.currency, buy.currency)}) up to mid"
            )
        if fee > policy.fee_on(sell_amount):
            raise BadInput(f"{tx.id} pays {dealer} a fee of {fee} on {sell_amount} {sell.code}; its fee is at most {policy.fee_bps} bp")
        due = math.floor((sell_amount - fee) * rate * Fraction(10**buy.exponent, 10**sell.exponent))
        if sum(v.leg.amount for v in bought) != due or due <= 0:
            raise BadInput(
                f"{tx.id} does not move what quote {terms.id} says: {sell_amount} {sell.code} (fee {fee} its own leg) "
                f"to {dealer} at {terms.rate} buys {due} {buy.code}"
            )

    def _check_quote_terms(self, state: ControlState, terms: QuoteTerms, now: str) -> None:
        """A quote untaken on this ledger, unexpired at ``now`` and firm for no longer than the dealer's quotes are."""
        policy = self.policy
        dealer = policy.dealer
        taken = state.used_quotes.get(terms.id)
        if taken is not None:
            raise QuoteExpired(f"quote {terms.id} was already taken by {taken}; ask for a new one")
        if now > terms.expires_at:
            raise QuoteExpired(f"quote {terms.id} expired at {terms.expires_at}; ask for a new one")
        if terms.expires_at > chain.iso(chain.parse_iso(now) + timedelta(seconds=policy.quote_ttl_s)):
            raise QuoteExpired(
                f"quote {terms.id} says it is firm until {terms.expires_at}; a quote of {dealer} is firm for "
                f"{policy.quote_ttl_s} s at most: ask for a new one"
            )

    def _check_partner_quote(self, tx: Tx, terms: QuoteTerms, views: Sequence[LegView]) -> None:
        """A conditional hold's quote binds one side of the exchange, the other being the partner hold.

        The legs here all pay the dealer one asset (a fee its own last leg) or
        are all paid by the dealer in one asset; the rate is a firm rate for this
        asset's currency against the home currency of the party on the partner
        ledger. Whether the two sides agree under the quote is the pair check's
        to say, which sees both ledgers.
        """
        policy = self.policy
        dealer = policy.dealer
        remote = tx.travel.remote if tx.travel is not None else None
        if remote is None:
            raise BadInput(
                f"{tx.id} is a conditional hold bound to quote {terms.id}: its travel data names its party on the partner "
                "ledger, whose currency the other side of the exchange pays"
            )
        sold = [v for v in views if v.creditor.id == dealer and v.debtor.id != dealer]
        bought = [v for v in views if v.debtor.id == dealer and v.creditor.id != dealer]
        side = sold or bought
        if (sold and bought) or not side or len(side) != len(views) or len({v.asset.code for v in side}) != 1 or len(sold) > 2 or len(bought) > 1:
            raise BadInput(
                f"{tx.id} is a conditional hold bound to quote {terms.id}: its legs all pay {dealer} one asset (the fee a "
                f"leg of its own) or are all paid by {dealer} in one asset"
            )
        here = side[0].asset.currency
        there = policy.home_currency.get(remote.jurisdiction)
        if there is None or there == here:
            raise BadInput(f"quote {terms.id} exchanges {here} for the currency of {remote.jurisdiction}, which is no other currency this policy knows")
        sell, buy = (here, there) if sold else (there, here)
        rate = Fraction(Decimal(terms.rate))
        least, mid = Fraction(Decimal(policy.firm_rate(sell, buy))), policy.rates.cross(sell, buy)
        if not least <= rate <= mid:
            raise BadInput(
                f"quote {terms.id} is at {terms.rate} {buy} per {sell}; a firm quote of {dealer} is from the "
                f"reference mid less its {policy.spread_bps} bp spread ({policy.firm_rate(sell, buy)}) up to mid"
            )
        if len(sold) == 2:
            amount, fee = sold[0].leg.amount + sold[1].leg.amount, sold[1].leg.amount
            if fee > policy.fee_on(amount):
                raise BadInput(f"{tx.id} pays {dealer} a fee of {fee} on {amount} {sold[0].asset.code}; its fee is at most {policy.fee_bps} bp")

    def _check_travel(self, state: ControlState, tx: Tx, views: Sequence[LegView], m: _Measure, now: str) -> None:
        threshold = self.policy.travel_rule_usd
        since = self._since(now, self.policy.travel_window_s)
        needed: list[tuple[tuple[str, str], int, int]] = []  # (origin, destination), whole USD, USD moved before
        for pair, crossed_usd in sorted(m.crossed.items()):
            if pair in m.exempt:
                continue
            before = state.moved_since(pair, since)
            if math.ceil(crossed_usd) + before >= threshold:
                needed.append((pair, math.ceil(crossed_usd), before))
        travel = tx.travel
        if travel is None:
            if needed:
                (o, d), usd, before = needed[0]
                linked = f" (USD {_usd(before + usd)} with the last {self.policy.travel_window_s // 3600} h's transfers from {o} to {d})" if before else ""
                raise TravelRule(
                    f"{tx.id} moves USD {_usd(usd)} of {o}'s across a border to {d}{linked}; from USD {_usd(threshold)} "
                    "it must carry originator and beneficiary data (FATF Recommendation 16)"
                )
            return
        # Data that travels must be true, whatever the amount.
        self._check_party(travel.originator, views, debited=True)
        origin = travel.originator.id
        if not any(o == origin for o, _ in m.crossed):
            raise TravelRule(f"travel data names {origin} as originator, but none of {origin}'s value crosses a border in {tx.id}")
        named = set()
        for party in travel.beneficiaries:
            self._check_party(party, views, debited=False)
            if (origin, party.id) not in m.crossed:
                raise TravelRule(
                    f"travel data names {party.id} as a beneficiary, but {party.id} receives none of {origin}'s value across a border in {tx.id}"
                )
            named.add(party.id)
        for (o, d), usd, _ in needed:
            if o != origin:
                raise TravelRule(
                    f"{tx.id} also moves USD {_usd(usd)} of {o}'s across a border to {d}; travel data names one originator "
                    f"({origin}): send {o}'s value in a transaction of its own"
                )
            if d not in named:
                raise TravelRule(f"{tx.id} moves USD {_usd(usd)} of {o}'s across a border to {d}, whom its travel data does not name")

    @staticmethod
    def _check_party(party, views: Sequence[LegView], debited: bool) -> None:
        role = "originator" if debited else "beneficiary"
        found = next(
            (v.debtor if debited else v.creditor for v in views if (v.debit if debited else v.credit).id == party.account),
            None,
        )
        if found is None or found.id != party.id:
            side = "debits" if debited else "credits"
            raise TravelRule(f"travel {role} {party.id} ({party.account}) is not an account of theirs this transaction {side}")
        if (party.kind, party.jurisdiction) != (found.kind, found.jurisdiction):
            raise TravelRule(
                f"travel data says {party.id} is a {party.kind} in {party.jurisdiction}; "
                f"the registry says {found.kind} in {found.jurisdiction}"
            )

    def _check_outflows(self, state: ControlState, effect: ControlEffect) -> None:
        limit = self.policy.outflow_limit_usd
        for (participant, year), usd in sorted(effect.outflows.items()):
            used = state.outflow(participant, year)
            if used + usd > limit:
                raise OutflowLimit(
                    f"{participant} has sent or converted USD {_usd(used)} abroad in {year}; this adds USD {_usd(usd)} "
                    f"and the yearly limit for residents is USD {_usd(limit)}"
                )

    def _check_breaker(self, state: ControlState, amount_out: int, supply_change: int, views: Sequence[LegView], now: str) -> None:
        watched = self.policy.breaker_asset
        since = self._since(now, self.policy.breaker_window_s)
        net = state.net_converted_since(since) + amount_out
        after = state.supply + supply_change
        least = min(state.least_supply_since(since), after) if after > 0 else state.least_supply_since(since)
        share = self.policy.breaker_share
        if net * share.denominator > least * share.numerator:
            exponent = next(v.asset.exponent for v in views if v.asset.code == watched)
            raise RunBreaker(
                f"net conversions out of {watched} in the last {self.policy.breaker_window_s // 60} minutes would reach "
                f"{format_amount(net, exponent)} {watched}, over {share.numerator * 100 / share.denominator:g}% of the "
                f"{format_amount(least, exponent)} {watched} in issue (the least since the window began): the run breaker "
                f"refuses it; conversions out of {watched} reopen as the window's earlier ones age out, "
                f"and conversions into {watched} stay open"
            )

    @staticmethod
    def _since(now: str, seconds: int) -> str:
        return chain.iso(chain.parse_iso(now) - timedelta(seconds=seconds))


def needs(
    parties: Iterable[Participant],
    assets: Iterable[Asset],
    quote_ids: Iterable[str],
    now: str,
    hold_times: Iterable[str],
    policy: FlowPolicy,
) -> ControlKeys:
    """What a chunk touching ``parties`` and ``assets`` (holds made at ``hold_times`` ending in it) needs loaded."""
    parties = list(parties)
    assets = list(assets)
    places = {p.jurisdiction for p in parties}
    foreign = any(a.currency != policy.home_currency.get(p.jurisdiction) for a in assets for p in parties)
    moments = [now, *hold_times]
    earliest = min(moments)
    limited = frozenset(p.id for p in parties if policy.is_limited(p)) if (len(places) > 1 or foreign) else frozenset()
    years = frozenset(
        chain.parse_iso(t).astimezone(ZoneInfo(policy.timezone[j])).year
        for t in moments
        for j in {p.jurisdiction for p in parties if p.id in limited}
    )
    watched = policy.breaker_asset if any(a.code == policy.breaker_asset for a in assets) else None
    return ControlKeys(
        limited=limited,
        years=years,
        quotes=frozenset(quote_ids),
        watched=watched,
        breaker_since=Controls._since(earliest, policy.breaker_window_s),
        originators=frozenset(p.id for p in parties) if len(places) > 1 else frozenset(),
        travel_since=Controls._since(earliest, policy.travel_window_s),
    )


# -- following value through a transaction -------------------------------------------------


def _trace(edges: dict[tuple[str, str], Fraction], place: dict[str, str]) -> dict[tuple[str, str], Fraction]:
    """Value of each true originator that reaches each true beneficiary after crossing a border.

    Each party pays first out of what it received, in proportion, then out of its
    own; it keeps what it receives beyond what it pays. That is an absorbing
    Markov chain over (party, crossed yet?) whose expected visits solve a small
    linear system, exactly, in fractions.
    """
    flows = _Flows(edges, place)
    origins = [p for p in sorted(place) if flows.outflow.get(p, 0) > flows.inflow.get(p, 0)]
    columns = [{(o, False): flows.outflow[o] - flows.inflow.get(o, Fraction(0))} for o in origins]
    found: dict[tuple[str, str], Fraction] = {}
    for o, kept in zip(origins, flows.absorb(columns, stop=None), strict=True):
        for (party, crossed), amount in kept.items():
            if crossed and amount > 0:
                found[(o, party)] = found.get((o, party), Fraction(0)) + amount
    return found


def _leaving(edges: dict[tuple[str, str], Fraction], place: dict[str, str], who: str) -> Fraction:
    """Of all ``who`` pays in these legs (its own value or value passed through it), what crosses a border and stays abroad-bound.

    Value that comes back to ``who`` is not counted (a round trip, or the other
    side of an exchange, which is counted as a conversion).
    """
    flows = _Flows(edges, place)
    column: dict[tuple[str, bool], Fraction] = {}
    for v, w in flows.out_edges.get(who, ()):
        state = (v, place[who] != place[v])
        column[state] = column.get(state, Fraction(0)) + w
    if not column:
        return Fraction(0)
    kept = flows.absorb([column], stop=who)[0]
    return sum((amount for (party, crossed), amount in kept.items() if crossed and party != who), Fraction(0))


class _Flows:
    """The value each party receives and pays in a transaction's legs, as a chain to follow value through."""

    def __init__(self, edges: dict[tuple[str, str], Fraction], place: dict[str, str]) -> None:
        self.place = place
        self.inflow: dict[str, Fraction] = {}
        self.outflow: dict[str, Fraction] = {}
        self.out_edges: dict[str, list[tuple[str, Fraction]]] = {}
        for (u, v), w in edges.items():
            self.outflow[u] = self.outflow.get(u, Fraction(0)) + w
            self.inflow[v] = self.inflow.get(v, Fraction(0)) + w
            self.out_edges.setdefault(u, []).append((v, w))
        self.through = {p: max(self.inflow.get(p, Fraction(0)), self.outflow.get(p, Fraction(0))) for p in place}

    def absorb(self, columns: list[dict[tuple[str, bool], Fraction]], stop: str | None) -> list[dict[tuple[str, bool], Fraction]]:
        """For each column of value entering at (party, crossed) states: how much each state keeps in the end.

        A party keeps the share of its throughput it does not pay on; ``stop``
        (if given) keeps everything that reaches it.
        """
        place = self.place
        index: dict[tuple[str, bool], int] = {}
        order: list[tuple[str, bool]] = []
        stack = [s for column in columns for s in column]
        while stack:
            state = stack.pop()
            if state in index:
                continue
            index[state] = len(order)
            order.append(state)
            party, crossed = state
            if party == stop:
                continue
            for v, _ in self.out_edges.get(party, ()):
                stack.append((v, crossed or place[party] != place[v]))
        n, k = len(order), len(columns)
        # (I - Q)^T N = B: N[s][c] is the value of column c passing through state s.
        matrix = [[Fraction(int(i == j)) for j in range(n)] + [Fraction(0)] * k for i in range(n)]
        for (party, crossed), i in index.items():
            if party == stop:
                continue
            total = self.through[party]
            for v, w in self.out_edges.get(party, ()):
                matrix[index[(v, crossed or place[party] != place[v])]][i] -= w / total
        for c, column in enumerate(columns):
            for state, amount in column.items():
                matrix[index[state]][n + c] += amount
        _solve(matrix, n)
        found: list[dict[tuple[str, bool], Fraction]] = [{} for _ in columns]
        for (party, crossed), i in index.items():
            if party == stop:
                share = Fraction(1)
            else:
                keeps = self.inflow.get(party, Fraction(0)) - self.outflow.get(party, Fraction(0))
                if keeps <= 0:
                    continue
                share = keeps / self.through[party]
            for c in range(k):
                amount = matrix[i][n + c] * share
                if amount:
                    found[c][(party, crossed)] = amount
        return found


def _solve(matrix: list[list[Fraction]], n: int) -> None:
    """Gauss-Jordan elimination in place on an n x (n + k) augmented matrix; the solution ends in its right block."""
    for col in range(n):
        pivot = next((r for r in range(col, n) if matrix[r][col] != 0), None)
        if pivot is None:
            raise ValueError("value circulates without end: the transaction's flows do not resolve")  # pragma: no cover
        matrix[col], matrix[pivot] = matrix[pivot], matrix[col]
        head = matrix[col][col]
        if head != 1:
            matrix[col] = [x / head for x in matrix[col]]
        row = matrix[col]
        for r in range(n):
            factor = matrix[r][col]
            if r != col and factor != 0:
                other = matrix[r]
                matrix[r] = [a - factor * b for a, b in zip(other, row, strict=True)]


def _usd(cents: int) -> str:
    return format_amount(cents, USD_EXPONENT)


def partner_participant(party: Party) -> Participant:
    """A party of the partner ledger as the controls see it: where it is and what it is (not a resident of this ledger's)."""
    return Participant(party.id, party.kind, party.jurisdiction, False, unb64url(party.public_key) if party.public_key else b"", "")


def reversed_travel(travel: Travel | None) -> Travel | None:
    """The travel data of a reversal: the original's beneficiary now sends back to its originator (one beneficiary only)."""
    if travel is None or travel.others:
        return None
    return Travel(originator=travel.beneficiary, beneficiary=travel.originator)
