"""Assets and amounts: the one parser and the one formatter of money.

Inside the ledger an amount is always an ``int`` of minor units of one asset.
Decimal appears only here, at the edges: :func:`parse_amount` turns what a
person typed ("12.50", "1,000,000") into minor units, :func:`format_amount`
turns minor units back into major units for printing, and
:func:`check_minor_units` is the gate every amount from JSON passes. A float
is refused everywhere: binary fractions cannot hold 0.10 exactly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from wonledger.domain.errors import AssetMismatch, BadAmount, BadInput

#: Counters are stored as signed 64-bit integers.
MAX_COUNTER = 2**63 - 1
#: The largest amount one leg may carry. RFC 8785 canonical JSON (the signed
#: form of a transaction) represents numbers as IEEE doubles, so integers
#: beyond 2**53 - 1 cannot be signed exactly; that is about 9 quadrillion
#: minor units, far above any real payment.
MAX_AMOUNT = 2**53 - 1

#: ``correspondent_balance`` is a conventional (untokenized) deposit that one
#: bank holds at another, a nostro seen from the holder and a vostro from the
#: bank keeping it: the balances correspondent banking runs on. Unlike a
#: deposit token it is not for domestic use only (a Korean bank's USD account
#: at a US bank is the point of it), so the residency rule does not apply.
ASSET_KINDS = ("wholesale_cbdc", "deposit_token", "stablecoin", "correspondent_balance")

_ASSET_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9.]{0,31}$")
# ASCII digits only: \d would also take Arabic-Indic or full-width digits.
_PLAIN_NUMBER = re.compile(r"(?:[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+)(?:\.([0-9]+))?")


@dataclass(frozen=True, slots=True)
class Asset:
    """A unit of account: its code, ISO currency, kind, issuer and exponent.

    ``exponent`` is fixed when the asset is created: an amount of ``n`` minor
    units is ``n / 10**exponent`` major units.
    """

    code: str
    currency: str
    kind: str
    exponent: int
    issuer: str

    def __post_init__(self) -> None:
        if not _ASSET_CODE.fullmatch(self.code):
            raise BadInput(f"asset code {self.code!r} must be a letter then letters, digits or dots (32 at most)")
        if self.kind not in ASSET_KINDS:
            raise BadInput(f"asset kind {self.kind!r} is not one of {', '.join(ASSET_KINDS)}")
        if not (isinstance(self.exponent, int) and not isinstance(self.exponent, bool) and 0 <= self.exponent <= 18):
            raise BadInput(f"asset exponent must be an integer from 0 to 18, not {self.exponent!r}")
        if not re.fullmatch(r"[A-Z]{3}", self.currency):
            raise BadInput(f"currency {self.currency!r} must be a three-letter ISO 4217 code")


def check_minor_units(value: object, what: str = "amount") -> int:
    """Accept a positive int of minor units that fits in 64 bits; refuse all else.

    ``bool`` is refused although Python counts it as an int, and so is every
    float, even a whole one: JSON amounts are integers of minor units.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        kind = "a float" if isinstance(value, float) else type(value).__name__
        raise BadAmount(f"{what} must be an integer of minor units, not {kind}")
    if value <= 0:
        raise BadAmount(f"{what} must be positive, not {value}")
    if value > MAX_AMOUNT:
        shown = str(value) if value < 10**40 else f"a {len(str(value))}-digit number"
        raise BadAmount(f"{what} {shown} is beyond the largest signable amount, 2**53 - 1 minor units")
    return value


def parse_amount(text: str, exponent: int) -> int:
    """Parse a positive amount in major units into minor units.

    Accepts ``1000``, ``1,000,000`` and ``12.50``; refuses signs, exponents,
    NaN, infinity, more decimals than the asset has, zero and anything over
    64 bits.
    """
    if not isinstance(text, str):
        raise BadAmount(f"amount must be text, not {type(text).__name__}")
    cleaned = text.strip()
    match = _PLAIN_NUMBER.fullmatch(cleaned)
    shown = text if len(text) <= 40 else text[:40] + "..."
    if not match:
        raise BadAmount(f"{shown!r} is not a positive amount (write digits, optionally with a decimal point)")
    decimals = match.group(1) or ""
    if len(decimals.rstrip("0")) > exponent:
        raise BadAmount(f"{shown!r} has more decimals than the asset's {exponent}")
    try:
        value = Decimal(cleaned.replace(",", ""))
    except InvalidOperation as exc:  # the regex should make this unreachable
        raise BadAmount(f"{shown!r} is not a number") from exc
    minor = int(value.scaleb(exponent))
    return check_minor_units(minor)


def format_amount(minor: int, exponent: int, grouping: bool = True) -> str:
    """Major units for people: ``1250`` with exponent 2 is ``12.50``."""
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10**exponent)
    text = f"{whole:,}" if grouping else str(whole)
    if exponent:
        text += "." + str(frac).rjust(exponent, "0")
    return sign + text


def split_amount(text: str) -> tuple[str, str | None]:
    """``"12.50 HKDS"`` → ``("12.50", "HKDS")``; ``"12.50"`` → ``("12.50", None)``."""
    parts = text.split()
    if len(parts) == 2 and _ASSET_CODE.match(parts[1]):
        return parts[0], parts[1]
    if len(parts) == 1:
        return parts[0], None
    raise BadAmount(f"{text!r} is not an amount (write e.g. 1000 or '12.50 HKDS')")


@dataclass(frozen=True, slots=True)
class TypedAmount:
    """An amount as a person typed it (``"1,000"``, ``"12.50 HKDS"``): digits in major units, and the asset if named.

    :meth:`parse` checks its form where it is typed; it becomes minor units
    only once the asset it is in is known (:meth:`minor_units`), so the
    number of decimals is held to that asset's exponent.
    """

    number: str
    asset: str | None = None

    @classmethod
    def parse(cls, text: str) -> TypedAmount:
        number, asset = split_amount(text)
        parse_amount(number, len(number.partition(".")[2]))  # its form, sign and size at the least scale it can have
        return cls(number, asset)

    def minor_units(self, asset: Asset) -> int:
        if self.asset is not None and self.asset != asset.code:
            raise AssetMismatch(f"the amount is in {self.asset} but the account holds {asset.code}")
        return parse_amount(self.number, asset.exponent)

