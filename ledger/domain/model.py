"""The ledger's values: participants, accounts, legs, transactions, receipts.

All are frozen dataclasses holding tuples, never lists, so a value read from
the database or built by a flow can be shared without being changed behind
anyone's back. Storage turns rows into these at its edge.

Sign convention (docs/wire-format.md, and nowhere else contradicted): a leg
moves ``amount`` from its ``debit`` account to its ``credit`` account;
``balance = credits_posted - debits_posted`` and
``available = balance - debits_pending``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from wonledger.domain.errors import BadInput

#: Ids of transactions and accounts: 1 to 128 of these characters.
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
#: Ids the ledger writes itself (expiries) start with "_", which no client id may.
SYSTEM_ID_PATTERN = re.compile(r"^_[A-Za-z0-9._:-]{1,127}$")
#: Participant ids may not hold ':' (it separates the parts of an account id).
PARTICIPANT_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")

PARTICIPANT_KINDS = (
    "central_bank",
    "bank",
    "bank_consortium",
    "nonbank",
    "licensed_issuer",
    "dealer",
    "offshore_issuer",
    "custodian",
    "regulator",
    "individual",
    "corporate",
)

#: Kinds that name what a transaction is for; the book treats them alike.
PLAIN_KINDS = (
    "transfer",
    "issue",
    "deposit",
    "withdraw",
    "mint",
    "redeem",
    "pay",
    "swap",
    "send",
)
#: Kinds the book treats specially.
HOLD, POST, VOID, EXPIRE, REVERSAL = "hold", "post", "void", "expire", "reversal"
#: Registry entries: they move nothing; they change who takes part, what exists and who signs.
REGISTER, NEW_ASSET, NEW_ISSUER, OPEN, KEY = "register", "asset", "issuer", "open", "key"
REGISTRY_KINDS = (REGISTER, NEW_ASSET, NEW_ISSUER, OPEN, KEY)
#: The entry an upgrade writes to freeze a registry that was kept before registry entries existed.
GENESIS = "genesis"
TX_KINDS = PLAIN_KINDS + (HOLD, POST, VOID, EXPIRE, REVERSAL) + REGISTRY_KINDS + (GENESIS,)
#: The field of the ``tx`` object that carries each registry entry's subject.
SUBJECT_FIELD = {REGISTER: "participant", NEW_ASSET: "asset", NEW_ISSUER: "issuer", KEY: "key"}
#: Why a key was replaced.
ROTATED, REVOKED = "rotated", "revoked"
#: In the signers of a key rotation, the mark of the signature made with the new key (proof of possession).
NEW_KEY = "#new"

#: Account flags.
NO_OVERDRAFT = "no_overdraft"
ISSUANCE = "issuance"
RESERVE = "reserve"
ACCOUNT_FLAGS = (NO_OVERDRAFT, ISSUANCE, RESERVE)

MAX_MEMO = 1000
MAX_LEGS = 64
#: A hold may wait at most a year.
MAX_TIMEOUT_S = 366 * 24 * 3600


#: Characters no memo (or other free text of a transaction) may hold: the C0 controls, DEL, the C1
#: controls, the line and paragraph separators, and Unicode's Bidi_Control characters (the
#: embeddings, overrides and isolates U+202A-U+202E, U+2066-U+2069, and the marks U+061C, U+200E,
#: U+200F), which can make text on a terminal read other than it is. (Ids allow far less already.)
FORBIDDEN_TEXT = frozenset(
    [chr(c) for c in range(0x20)]
    + [chr(c) for c in range(0x7F, 0xA0)]
    + ["\u2028", "\u2029", "\u061c", "\u200e", "\u200f"]
    + [chr(c) for c in range(0x202A, 0x202F)]
    + [chr(c) for c in range(0x2066, 0x206A)]
)
_FORBIDDEN_TEXT = re.compile("[" + "".join(f"\\u{ord(c):04x}" for c in sorted(FORBIDDEN_TEXT)) + "]")


def check_text(value: str, what: str) -> str:
    """``value`` if it holds none of :data:`FORBIDDEN_TEXT`, else BAD_INPUT naming the first such character."""
    found = _FORBIDDEN_TEXT.search(value)
    if found is not None:
        raise BadInput(
            f"{what} holds the control character U+{ord(found.group()):04X} at position {found.start()}: "
            "no control, line-separator or bidi-override characters"
        )
    return value


def check_id(value: object, what: str, pattern: re.Pattern[str] = ID_PATTERN) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        shown = value if isinstance(value, str) and len(value) <= 40 else f"{str(value)[:40]}..."
        raise BadInput(
            f"{what} {shown!r} must be 1 to {128 if pattern is ID_PATTERN else 64} characters of "
            f"{'letters, digits, . _ : -' if pattern is ID_PATTERN else 'lower-case letters, digits, . _ -'}"
        )
    return value


@dataclass(frozen=True, slots=True)
class Participant:
    """Someone who can own accounts and sign: a bank, an issuer, a person."""

    id: str
    kind: str
    jurisdiction: str
    resident: bool
    public_key: bytes = field(repr=False)
    #: Who vouched for it: its regulator, the bank that registered a customer, itself for a
    #: jurisdiction's authority; empty for a participant of a registry frozen at an upgrade.
    registrar: str = ""

    def __post_init__(self) -> None:
        check_id(self.id, "participant id", PARTICIPANT_PATTERN)
        if self.kind not in PARTICIPANT_KINDS:
            raise BadInput(f"participant kind {self.kind!r} is not one of {', '.join(PARTICIPANT_KINDS)}")
        if not re.fullmatch(r"[A-Z]{2}", self.jurisdiction):
            raise BadInput(f"jurisdiction {self.jurisdiction!r} must be a two-letter country code")


@dataclass(frozen=True, slots=True)
class Account:
    """One owner's holding of one asset, with TigerBeetle's four counters."""

    id: str
    owner: str
    asset: str
    flags: frozenset[str] = frozenset({NO_OVERDRAFT})
    label: str = ""
    debits_posted: int = 0
    credits_posted: int = 0
    debits_pending: int = 0
    credits_pending: int = 0

    @property
    def balance(self) -> int:
        return self.credits_posted - self.debits_posted

    @property
    def available(self) -> int:
        return self.balance - self.debits_pending

    @property
    def may_overdraw(self) -> bool:
        return NO_OVERDRAFT not in self.flags


def account_id(owner: str, asset: str, label: str = "") -> str:
    """The id of ``owner``'s account in ``asset``: ``owner:asset[:label]``."""
    return f"{owner}:{asset}:{label}" if label else f"{owner}:{asset}"


@dataclass(frozen=True, slots=True)
class Leg:
    """Move ``amount`` minor units of ``asset`` from ``debit`` to ``credit``."""

    debit: str
    credit: str
    asset: str
    amount: int

    def to_wire(self) -> dict[str, object]:
        return {"debit": self.debit, "credit": self.credit, "asset": self.asset, "amount": self.amount}


@dataclass(frozen=True, slots=True)
class QuoteTerms:
    """The dealer's quote a currency exchange is bound to, as its signers saw it.

    ``rate`` is units of the bought asset per unit of the sold one (major
    units), a decimal string; ``expires_at`` an ISO 8601 UTC time.
    """

    id: str
    rate: str
    source: str
    expires_at: str

    def to_wire(self) -> dict[str, str]:
        return {"id": self.id, "rate": self.rate, "source": self.source, "expires_at": self.expires_at}


@dataclass(frozen=True, slots=True)
class Party:
    """Originator or beneficiary data of the travel rule (FATF Recommendation 16)."""

    id: str
    account: str
    kind: str
    jurisdiction: str

    def to_wire(self) -> dict[str, str]:
        return {"id": self.id, "account": self.account, "kind": self.kind, "jurisdiction": self.jurisdiction}


@dataclass(frozen=True, slots=True)
class Travel:
    """Who sends and who receives value across a border (FATF Recommendation 16).

    One originator; one beneficiary, or several for a batch (``others``: the
    beneficiaries after the first). The wire has one form for each:
    ``{"originator", "beneficiary"}`` for one, ``{"originator", "beneficiaries": [...]}``
    (two or more) for a batch, so a value and its wire text match one to one.
    """

    originator: Party
    beneficiary: Party
    others: tuple[Party, ...] = ()

    @property
    def beneficiaries(self) -> tuple[Party, ...]:
        return (self.beneficiary, *self.others)

    def to_wire(self) -> dict[str, object]:
        if not self.others:
            return {"originator": self.originator.to_wire(), "beneficiary": self.beneficiary.to_wire()}
        return {"originator": self.originator.to_wire(), "beneficiaries": [b.to_wire() for b in self.beneficiaries]}


@dataclass(frozen=True, slots=True)
class AccountSpec:
    """An account an entry opens: ``owner:asset[:label]``, a reserve when ``reserve``."""

    owner: str
    asset: str
    label: str = ""
    reserve: bool = False

    @property
    def id(self) -> str:
        return account_id(self.owner, self.asset, self.label)

    def to_wire(self) -> dict[str, object]:
        wire: dict[str, object] = {"owner": self.owner, "asset": self.asset}
        if self.label:
            wire["label"] = self.label
        if self.reserve:
            wire["reserve"] = True
        return wire


@dataclass(frozen=True, slots=True)
class Registration:
    """A participant as its registrar vouches for it, with the public key it made itself."""

    id: str
    kind: str
    jurisdiction: str
    resident: bool
    public_key: str  # base64url, 32 bytes of Ed25519
    registrar: str

    def to_wire(self) -> dict[str, object]:
        return {
            "id": self.id,
            "kind": self.kind,
            "jurisdiction": self.jurisdiction,
            "resident": self.resident,
            "public_key": self.public_key,
            "registrar": self.registrar,
        }


@dataclass(frozen=True, slots=True)
class AssetSpec:
    """A new asset (not a stablecoin: those exist by their issuer's registration)."""

    code: str
    currency: str
    kind: str
    exponent: int
    issuer: str

    def to_wire(self) -> dict[str, object]:
        return {"code": self.code, "currency": self.currency, "kind": self.kind, "exponent": self.exponent, "issuer": self.issuer}


@dataclass(frozen=True, slots=True)
class IssuerSpec:
    """``issuer`` registered to issue stablecoin ``asset`` in ``currency``."""

    asset: str
    currency: str
    issuer: str

    def to_wire(self) -> dict[str, object]:
        return {"asset": self.asset, "currency": self.currency, "issuer": self.issuer}


@dataclass(frozen=True, slots=True)
class KeySpec:
    """``participant``'s signing key replaced by ``public_key`` (base64url), ``rotated`` or ``revoked``."""

    participant: str
    public_key: str
    reason: str

    def to_wire(self) -> dict[str, object]:
        return {"participant": self.participant, "public_key": self.public_key, "reason": self.reason}


Subject = Registration | AssetSpec | IssuerSpec | KeySpec


@dataclass(frozen=True, slots=True)
class Tx:
    """A transaction as its debtors sign it (the ``tx`` object of the wire format).

    ``ref`` names the hold a post, void or expiry finishes, or the transaction
    a reversal undoes; ``timeout_s`` is how long a hold waits; ``quote`` binds
    a currency exchange to the dealer's quote; ``travel`` carries the
    originator and beneficiary of a cross-border send.

    ``to_wire`` and :func:`wonledger.domain.wire.parse_tx` are each other's inverse:
    every optional member (``memo`` too) is absent exactly when its field is
    None, so a transaction has one wire form and one set of canonical bytes.
    (An empty memo, ``"memo": ""``, is a memo, and is signed as one.)
    """

    ledger: str
    id: str
    kind: str
    legs: tuple[Leg, ...]
    memo: str | None = None
    ref: str | None = None
    timeout_s: int | None = None
    quote: QuoteTerms | None = None
    travel: Travel | None = None
    #: Accounts this entry opens before its legs move (their owners sign it).
    opens: tuple[AccountSpec, ...] = ()
    #: What a registry entry registers (see SUBJECT_FIELD); None for every other kind.
    subject: Subject | None = None
    #: The registry a genesis entry freezes, as canonical JSON text.
    snapshot: str | None = None

    def to_wire(self) -> dict[str, object]:
        wire: dict[str, object] = {
            "ledger": self.ledger,
            "id": self.id,
            "kind": self.kind,
            "legs": [leg.to_wire() for leg in self.legs],
        }
        if self.memo is not None:
            wire["memo"] = self.memo
        if self.ref is not None:
            wire["ref"] = self.ref
        if self.timeout_s is not None:
            wire["timeout"] = self.timeout_s
        if self.quote is not None:
            wire["quote"] = self.quote.to_wire()
        if self.travel is not None:
            wire["travel"] = self.travel.to_wire()
        if self.opens:
            wire["opens"] = [spec.to_wire() for spec in self.opens]
        if self.subject is not None:
            wire[SUBJECT_FIELD[self.kind]] = self.subject.to_wire()
        if self.snapshot is not None:
            import json

            wire["snapshot"] = json.loads(self.snapshot)
        return wire


@dataclass(frozen=True, slots=True)
class Signature:
    signer: str
    sig: str  # base64url Ed25519 signature, no padding

    def to_wire(self) -> dict[str, str]:
        return {"signer": self.signer, "sig": self.sig}


@dataclass(frozen=True, slots=True, weakref_slot=True)
class SignedTx:
    """A transaction with its signatures and the exact bytes that were signed.

    ``canonical`` is the RFC 8785 form of the ``tx`` object as it arrived;
    signatures, idempotency and the hash chain all use these bytes.
    """

    tx: Tx
    signatures: tuple[Signature, ...]
    canonical: bytes = field(repr=False)

    def to_wire(self) -> dict[str, object]:
        # tx.to_wire() gives back exactly what ``canonical`` encodes (the wire format is one-to-one).
        return {"tx": self.tx.to_wire(), "signatures": [s.to_wire() for s in self.signatures]}


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
class HoldState:
    """A hold as the rules know it: its legs, when it was made (``at``) and expires, and how it ended."""

    id: str
    seq: int
    status: str  # pending, posted, voided
    expires_at: str
    legs: tuple[Leg, ...]
    finished_by: str | None = None
    at: str = ""
    #: whether the hold is an exchange at a firm quote (what the controls counted it as when it was made)
    quoted: bool = False


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
class StoredTx:
    """A journal row as the store hands it up: the signed transaction, where the journal put it, and how it was chained.

    ``body`` is the transaction's canonical bytes exactly as stored (what was
    signed, digested and chained). ``signed`` is None only when verify reads
    a row whose body does not decode (``problem`` says why);
    ``signature_list`` is the stored signature list as read, what the chain
    hashed (verify's read only; None when it is no JSON list).
    """

    seq: int
    id: str
    kind: str
    ref: str | None
    at: str
    digest: str
    hash: str
    body: bytes = field(repr=False)
    signed: SignedTx | None
    signature_list: tuple[object, ...] | None = field(default=None, repr=False)
    problem: str = ""

    @property
    def tx(self) -> Tx:
        assert self.signed is not None, self.problem
        return self.signed.tx

    def entry(self, status: str) -> JournalEntry:
        """The committed transaction as people look it up, in state ``status``."""
        signed = self.signed
        assert signed is not None, self.problem
        return JournalEntry(self.seq, self.at, signed.tx, signed.signatures, signed.canonical, self.hash, status)


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


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """One public key a participant has had, and when it could sign.

    A key signs entries committed from ``valid_from`` up to (not including)
    ``retired_at``; the participant's current key has no ``retired_at``.
    ``reason`` says why it was retired: ``rotated`` or ``revoked``.
    """

    participant: str
    public_key: bytes = field(repr=False)
    valid_from: str
    retired_at: str | None = None
    reason: str | None = None

    def valid_at(self, at: str) -> bool:
        return self.valid_from <= at and (self.retired_at is None or at < self.retired_at)


def key_in_force(history: Sequence[KeyRecord], at: str) -> KeyRecord | None:
    """The key of ``history`` (oldest first) that signs at commit time ``at``: the newest, where a rotation's two keys meet."""
    for record in reversed(history):
        if record.valid_at(at):
            return record
    return None


def released_legs(held: Sequence[Leg], posted: Sequence[Leg]) -> tuple[Leg, ...]:
    """What the end of a hold gave back: each held leg less what was posted of that same leg (a void or an expiry: all of it).

    Legs are matched by position, never by (debit, credit, asset): a swap's
    main leg and its fee leg run between the same two accounts in the same
    asset, and a post must repeat its hold's legs in order (the rulebook
    refuses any other). A leg posted in full releases nothing and is left out.
    """
    out = []
    for n, leg in enumerate(held):
        left = leg.amount - (posted[n].amount if n < len(posted) else 0)
        if left > 0:
            out.append(Leg(leg.debit, leg.credit, leg.asset, left))
    return tuple(out)
