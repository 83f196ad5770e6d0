"""What the ledger answers and keeps beside the journal: receipts, entries as people look them up, quotes, refusals, control figures.

Frozen values like the rest of :mod:`wonledger.domain.model`, which serves
them under its own name too (``from wonledger.domain.model import Receipt``
works). They live here so that a command that reads a balance does not build
their classes at start-up: making a frozen dataclass costs a few million
instructions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from wonledger.domain.model import Leg, Signature, Tx
from wonledger.domain.terms import QuoteTerms, Travel


@dataclass(frozen=True, slots=True)
class Receipt:
    """What the book says after accepting a transaction."""

    id: str
    seq: int
    hash: str
    at: str
    status: str
    duplicate: bool = False
    #: when the hold this receipt is for expires (ISO 8601 UTC); None for anything but a new hold
    expires_at: str | None = None
    #: for a post, void or expiry: what of its hold went back to the debtors, leg by leg, as the rulebook's effect says
    released: tuple[Leg, ...] = ()
    #: the entry as written, when whoever submitted it kept it (``Ledger``'s commands do), so showing it needs no read
    entry: JournalEntry | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class ConditionalHold:
    """A conditional hold as its journal entries say it stands: one leg of a payment across two ledgers.

    ``status`` is ``pending``, ``fulfilled``, ``rejected`` or ``expired``;
    ``condition`` the lowercase hex SHA-256 its preimage must hash to;
    ``deadline`` the commit time from which it can only expire; ``preimage``
    (lowercase hex) is set once it is fulfilled, and ``finished_by`` names the
    fulfil, reject or ``_expire:`` entry that ended it. ``at`` is when it was made.
    """

    id: str
    status: str
    condition: str
    deadline: str
    partner_ledger: str
    partner_hold: str
    legs: tuple[Leg, ...]
    quote: QuoteTerms | None = None
    travel: Travel | None = None
    preimage: str | None = None
    finished_by: str | None = None
    at: str = ""
    seq: int = 0


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """A committed transaction as the journal holds it."""

    seq: int
    at: str
    tx: Tx
    signatures: tuple[Signature, ...]
    canonical: bytes = field(repr=False)
    hash: str
    status: str


@dataclass(frozen=True, slots=True)
class ControlKeys:
    """What a chunk needs loaded of the control figures (see ``wonledger.rulebook.controls.needs``).

    ``limited``/``years``: the counted outflow of these limited residents in
    these years; ``quotes``: these quotes and whether they were taken;
    ``watched`` (an asset code, or None): the conversions and the supply path
    of the run breaker's asset since ``breaker_since``; ``originators``: the
    cross-border movements from these parties since ``travel_since``.
    """

    limited: frozenset[str] = frozenset()
    years: frozenset[int] = frozenset()
    quotes: frozenset[str] = frozenset()
    watched: str | None = None
    breaker_since: str = ""
    originators: frozenset[str] = frozenset()
    travel_since: str = ""


@dataclass(frozen=True, slots=True)
class ControlTables:
    """Rows of the control tables the store keeps beside the journal.

    - ``quote_uses``: (quote id, transaction that took it)
    - ``outflows``: (seq, participant, year, USD cents; negative: given back)
    - ``conversions``: (seq, counted at, asset, amount converted out; negative: in or given back)
    - ``travel``: (seq, counted at, originator, beneficiary, USD cents moved across borders)
    """

    quote_uses: tuple[tuple[str, str], ...] = ()
    outflows: tuple[tuple[int, str, int, int], ...] = ()
    conversions: tuple[tuple[int, str, str, int], ...] = ()
    travel: tuple[tuple[int, str, str, str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class ControlFigures:
    """The control figures a chunk needs (its :class:`ControlKeys`), as stored; the rulebook loads them into its state.

    ``outflows``: counted USD cents per (participant, year); ``conversions``:
    (counted at, amount out) of the watched asset; ``supply``, ``supply_path``
    and ``supply_before``: its posted supply now, (at, supply after) of each
    change in the window, and the supply before those; ``travel``: per
    (originator, beneficiary), (counted at, USD cents); ``used_quotes`` (quote
    id → the transaction that took it).
    """

    outflows: tuple[tuple[tuple[str, int], int], ...] = ()
    conversions: tuple[tuple[str, int], ...] = ()
    supply: int = 0
    supply_path: tuple[tuple[str, int], ...] = ()
    supply_before: int = 0
    travel: tuple[tuple[tuple[str, str], tuple[tuple[str, int], ...]], ...] = ()
    used_quotes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Quote:
    """A dealer's firm quote: sell ``sell_amount`` of one asset, get ``buy_amount`` of another.

    ``fee`` (in the sold asset) is part of ``sell_amount`` and moves as a leg
    of its own; ``buy_amount = floor((sell_amount - fee) x rate)`` in minor
    units, rounded in the dealer's favour. ``used_by`` names the transaction
    that took it: a quote is good for one exchange. ``signature`` is the
    dealer's Ed25519 signature (base64url) over :meth:`offer` for this ledger,
    made when the quote was offered: a stored offer is taken only if it holds.
    """

    quote_id: str
    dealer: str
    sell_asset: str
    buy_asset: str
    sell_amount: int
    fee: int
    buy_amount: int
    rate: str
    source: str
    created_at: str
    expires_at: str
    used_by: str | None = None
    signature: str | None = None

    @property
    def terms(self) -> QuoteTerms:
        """What a transaction binds into its signed payload."""
        return QuoteTerms(id=self.quote_id, rate=self.rate, source=self.source, expires_at=self.expires_at)

    def offer(self, ledger: str) -> dict[str, object]:
        """The offer as its dealer signs it (its RFC 8785 bytes are what the signature covers): every term, and the ledger it is for.

        Its members (``ledger`` and ``offer``) are no transaction's, so an offer's signature never passes for a transaction's.
        """
        return {
            "ledger": ledger,
            "offer": {
                "id": self.quote_id,
                "dealer": self.dealer,
                "sell_asset": self.sell_asset,
                "buy_asset": self.buy_asset,
                "sell_amount": self.sell_amount,
                "fee": self.fee,
                "buy_amount": self.buy_amount,
                "rate": self.rate,
                "source": self.source,
                "created_at": self.created_at,
                "expires_at": self.expires_at,
            },
        }


@dataclass(frozen=True, slots=True)
class Refusal:
    """A refusal by a ledger rule, as ``report rejections`` lists it."""

    at: str
    who: str
    tx_id: str | None
    kind: str | None
    what: str
    code: str
    message: str

