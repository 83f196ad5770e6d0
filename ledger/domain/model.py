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

import importlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from wonledger.domain.errors import BadInput

if TYPE_CHECKING:  # what __getattr__ serves, re-exported for type checkers
    from wonledger.domain.records import ConditionalHold as ConditionalHold
    from wonledger.domain.records import ControlFigures as ControlFigures
    from wonledger.domain.records import ControlKeys as ControlKeys
    from wonledger.domain.records import ControlTables as ControlTables
    from wonledger.domain.records import JournalEntry as JournalEntry
    from wonledger.domain.records import Quote as Quote
    from wonledger.domain.records import Receipt as Receipt
    from wonledger.domain.records import Refusal as Refusal
    from wonledger.domain.terms import AccountSpec as AccountSpec
    from wonledger.domain.terms import AssetSpec as AssetSpec
    from wonledger.domain.terms import IssuerSpec as IssuerSpec
    from wonledger.domain.terms import KeySpec as KeySpec
    from wonledger.domain.terms import Partner as Partner
    from wonledger.domain.terms import Party as Party
    from wonledger.domain.terms import QuoteTerms as QuoteTerms
    from wonledger.domain.terms import Registration as Registration
    from wonledger.domain.terms import Subject as Subject
    from wonledger.domain.terms import Travel as Travel

#: Values served from the modules beside this one, loaded on first use (PEP 562): see their docstrings.
_LAZY = {
    **dict.fromkeys(("QuoteTerms", "Party", "Partner", "Travel", "AccountSpec", "Registration", "AssetSpec", "IssuerSpec", "KeySpec", "Subject"), "terms"),
    **dict.fromkeys(
        ("Receipt", "JournalEntry", "ControlKeys", "ControlTables", "ControlFigures", "Quote", "Refusal", "ConditionalHold"), "records"
    ),
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        value = getattr(importlib.import_module(f"wonledger.domain.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'wonledger.domain.model' has no attribute {name!r}")

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
#: The ends of a conditional hold (one with a hashlock and an absolute deadline) besides its expiry.
FULFIL, REJECT = "fulfil", "reject"
#: Registry entries: they move nothing; they change who takes part, what exists and who signs.
REGISTER, NEW_ASSET, NEW_ISSUER, OPEN, KEY = "register", "asset", "issuer", "open", "key"
REGISTRY_KINDS = (REGISTER, NEW_ASSET, NEW_ISSUER, OPEN, KEY)
#: The entry an upgrade writes to freeze a registry that was kept before registry entries existed.
GENESIS = "genesis"
TX_KINDS = PLAIN_KINDS + (HOLD, POST, VOID, EXPIRE, REVERSAL) + REGISTRY_KINDS + (GENESIS, FULFIL, REJECT)
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
#: A hold may wait at most a year (a conditional hold's deadline: at most this long after it is made).
MAX_TIMEOUT_S = 366 * 24 * 3600
#: A conditional hold's preimage is this many bytes; its condition is the SHA-256 of it.
PREIMAGE_BYTES = 32


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
class Tx:
    """A transaction as its debtors sign it (the ``tx`` object of the wire format).

    ``ref`` names the hold a post, void, fulfil, reject or expiry finishes, or
    the transaction a reversal undoes; ``timeout_s`` is how long a hold waits;
    ``quote`` binds a currency exchange to the dealer's quote; ``travel``
    carries the originator and beneficiary of a cross-border send.

    A conditional hold has, instead of ``timeout_s``, ``condition`` (the
    lowercase hex SHA-256 of a 32-byte preimage), ``deadline`` (an absolute
    commit time) and ``partner`` (its partner hold on the other ledger); a
    fulfil carries the ``preimage`` (lowercase hex).

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
    #: A conditional hold's hashlock: lowercase hex of SHA-256(preimage).
    condition: str | None = None
    #: A conditional hold's deadline: the commit time from which it can only expire.
    deadline: str | None = None
    #: A conditional hold's partner hold on the other ledger.
    partner: Partner | None = None
    #: A fulfil's preimage, lowercase hex of 32 bytes.
    preimage: str | None = None

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
        if self.condition is not None:
            wire["condition"] = {"sha256": self.condition}
        if self.deadline is not None:
            wire["deadline"] = self.deadline
        if self.partner is not None:
            wire["partner"] = self.partner.to_wire()
        if self.preimage is not None:
            wire["preimage"] = self.preimage
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
class HoldState:
    """A hold as the rules know it: its legs, when it was made (``at``) and expires, and how it ended.

    A conditional hold (``condition`` set) expires at its deadline and ends
    fulfilled, rejected or expired; any other hold ends posted or voided.
    """

    id: str
    seq: int
    status: str  # pending, posted, voided; a conditional hold: pending, fulfilled, rejected, expired
    expires_at: str
    legs: tuple[Leg, ...]
    finished_by: str | None = None
    at: str = ""
    #: whether the hold is an exchange at a firm quote (what the controls counted it as when it was made)
    quoted: bool = False
    #: a conditional hold's hashlock (lowercase hex SHA-256), None for any other hold
    condition: str | None = None
    #: a conditional hold's partner hold on the other ledger
    partner: Partner | None = None
    #: a conditional hold's travel data (its party on the partner ledger is part of what the controls counted)
    travel: Travel | None = None


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
        from wonledger.domain.records import JournalEntry

        signed = self.signed
        assert signed is not None, self.problem
        return JournalEntry(self.seq, self.at, signed.tx, signed.signatures, signed.canonical, self.hash, status)


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
