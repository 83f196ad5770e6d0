"""What a transaction may carry beyond its legs: quote terms, travel-rule parties, the accounts it opens, registry subjects.

Frozen values like the rest of :mod:`wonledger.domain.model`, which serves
them under its own name too (``from wonledger.domain.model import AccountSpec``
works). They live here so that a command that builds or parses no
transaction (``balance``, say) does not build their classes at start-up:
making a frozen dataclass costs a few million instructions.
"""

from __future__ import annotations

from dataclasses import dataclass

from wonledger.domain.model import account_id


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
    """Originator or beneficiary data of the travel rule (FATF Recommendation 16).

    A party on another ledger (the far side of a conditional hold) is named by
    reference: that ledger's id and the party's public key there (base64url)
    beside its id, account, kind and jurisdiction. Both are set or neither.
    """

    id: str
    account: str
    kind: str
    jurisdiction: str
    #: the other ledger's id, for a party of the partner ledger; None for a party of this one
    ledger: str | None = None
    #: the party's public key on that ledger (base64url, 32 bytes of Ed25519)
    public_key: str | None = None

    def to_wire(self) -> dict[str, str]:
        wire = {"id": self.id, "account": self.account, "kind": self.kind, "jurisdiction": self.jurisdiction}
        if self.ledger is not None:
            wire["ledger"] = self.ledger
        if self.public_key is not None:
            wire["public_key"] = self.public_key
        return wire


@dataclass(frozen=True, slots=True)
class Partner:
    """A conditional hold's partner: the hold ``hold`` on the ledger ``ledger``, the other leg of the same payment."""

    ledger: str
    hold: str

    def to_wire(self) -> dict[str, str]:
        return {"ledger": self.ledger, "hold": self.hold}


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

    @property
    def remote(self) -> Party | None:
        """The party named on another ledger (by reference), if any: at most one of originator and beneficiary."""
        return next((p for p in (self.originator, *self.beneficiaries) if p.ledger is not None), None)

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
