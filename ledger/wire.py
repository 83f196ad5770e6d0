"""The wire format of signed transactions: one JSON object per line.

This module turns untrusted text into :class:`~ledger.model.SignedTx` and
refuses, with a precise error, everything that is not exactly the format of
DESIGN section 3: floats, NaN, unknown or missing fields, wrong types, bad
ids, a leg whose two sides are the same account. It checks only what the
line itself shows; the book checks it against the ledger.
"""

from __future__ import annotations

import json
import re
import weakref
from collections.abc import Mapping
from typing import Any

from ledger.errors import BadAmount, BadInput, BadSignature
from ledger.model import (
    EXPIRE,
    HOLD,
    MAX_LEGS,
    MAX_MEMO,
    MAX_TIMEOUT_S,
    PARTICIPANT_KINDS,
    PARTICIPANT_PATTERN,
    PLAIN_KINDS,
    POST,
    SYSTEM_ID_PATTERN,
    REVERSAL,
    TX_KINDS,
    VOID,
    Leg,
    Party,
    QuoteTerms,
    Signature,
    SignedTx,
    Travel,
    Tx,
    check_id,
)
from ledger.money import check_minor_units
from ledger.signing import canonical_bytes

MAX_LINE_BYTES = 256 * 1024
MAX_SIGNATURES = 16

_TX_REQUIRED = ("ledger", "id", "kind", "legs")
_TX_OPTIONAL = ("memo", "ref", "timeout", "quote", "travel")
_QUOTE_FIELDS = ("id", "rate", "source", "expires_at")
_PARTY_FIELDS = ("id", "account", "kind", "jurisdiction")
_RATE = re.compile(r"^[0-9]{1,20}(\.[0-9]{1,20})?$")
_TIME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$")
#: Kinds that move money and so may be bound to a quote or carry travel-rule data.
_KINDS_WITH_TERMS = PLAIN_KINDS + (HOLD,)
#: A reversal moves value back across the border its original crossed, so it may carry travel data too.
_KINDS_WITH_TRAVEL = _KINDS_WITH_TERMS + (REVERSAL,)
_LEG_FIELDS = ("debit", "credit", "asset", "amount")
#: Kinds that finish or undo an earlier transaction and so must name it.
_KINDS_WITH_REF = (POST, VOID, EXPIRE, REVERSAL)
#: Kinds that move nothing themselves.
_KINDS_WITHOUT_LEGS = (VOID, EXPIRE)


def _refuse_float(text: str) -> None:
    raise BadAmount(f"a float ({text}) is not an amount; amounts are integers of minor units")


def _refuse_constant(text: str) -> None:
    raise BadAmount(f"{text} is not a number wonledger accepts")


_decode = json.JSONDecoder(parse_float=_refuse_float, parse_constant=_refuse_constant).decode
#: Transactions this module parsed itself: their ``tx`` is, by construction, what
#: their canonical bytes say (the book need not parse those bytes again).
#: Keyed by identity (a SignedTx's own hash walks all its fields), holding no reference.
_PARSED: weakref.WeakValueDictionary[int, SignedTx] = weakref.WeakValueDictionary()


def parsed_here(signed: SignedTx) -> bool:
    """Whether ``signed`` came out of :func:`parse_envelope` (so its ``tx`` matches its bytes)."""
    return _PARSED.get(id(signed)) is signed


def loads(text: str | bytes) -> Any:
    """Parse JSON, refusing floats, NaN and Infinity anywhere in it."""
    if isinstance(text, bytes):
        if len(text) > MAX_LINE_BYTES:
            raise BadInput(f"line is longer than {MAX_LINE_BYTES} bytes")
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise BadInput("line is not UTF-8 text") from None
    if len(text) > MAX_LINE_BYTES:
        raise BadInput(f"line is longer than {MAX_LINE_BYTES} bytes")
    try:
        return _decode(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"not JSON: {exc.msg} at column {exc.colno}") from None
    except RecursionError:
        raise BadInput("JSON nested too deeply") from None
    except ValueError as exc:  # e.g. an integer with thousands of digits
        raise BadInput(f"not acceptable JSON: {exc}") from None


def parse_line(line: str | bytes) -> SignedTx:
    """One line of a batch file → a signed transaction (not yet checked against a ledger)."""
    return parse_envelope(loads(line))


def parse_envelope(obj: object) -> SignedTx:
    if not isinstance(obj, Mapping):
        raise BadInput("a line must be a JSON object with 'tx' and 'signatures'")
    extra = set(obj) - {"tx", "signatures"}
    if extra:
        raise BadInput(f"unknown field {sorted(extra)[0]!r} beside 'tx' and 'signatures'")
    if "tx" not in obj:
        raise BadInput("missing 'tx'")
    tx = parse_tx(obj["tx"])
    signatures = parse_signatures(obj.get("signatures"))
    # parse_tx has checked every key and value of obj["tx"]: it is plain JSON.
    signed = SignedTx(tx=tx, signatures=signatures, canonical=canonical_bytes(obj["tx"], plain=True))
    _PARSED[id(signed)] = signed
    return signed


def parse_signatures(value: object) -> tuple[Signature, ...]:
    if not isinstance(value, list):
        raise BadSignature("'signatures' must be a list of {signer, sig}")
    if len(value) > MAX_SIGNATURES:
        raise BadSignature(f"more than {MAX_SIGNATURES} signatures")
    found: list[Signature] = []
    seen: set[str] = set()
    for item in value:
        if not isinstance(item, Mapping) or set(item) != {"signer", "sig"}:
            raise BadSignature("each signature must be exactly {signer, sig}")
        signer = check_id(item["signer"], "signer", PARTICIPANT_PATTERN)
        if not isinstance(item["sig"], str):
            raise BadSignature(f"signature of {signer} must be base64url text")
        if signer in seen:
            raise BadSignature(f"{signer} signed twice")
        seen.add(signer)
        found.append(Signature(signer=signer, sig=item["sig"]))
    return tuple(found)


def parse_tx(obj: object, journal: bool = False) -> Tx:
    """A ``tx`` object → :class:`Tx`; ``journal`` also admits the ledger's own ids (read back from the journal)."""
    if not isinstance(obj, Mapping):
        raise BadInput("'tx' must be a JSON object")
    for name in _TX_REQUIRED:
        if name not in obj:
            raise BadInput(f"tx is missing {name!r}")
    extra = set(obj) - set(_TX_REQUIRED) - set(_TX_OPTIONAL)
    if extra:
        raise BadInput(f"tx has unknown field {sorted(extra)[0]!r}")
    ledger = check_id(obj["ledger"], "ledger id")
    tx_id = obj["id"]
    if not (journal and isinstance(tx_id, str) and SYSTEM_ID_PATTERN.fullmatch(tx_id)):
        tx_id = check_id(tx_id, "transaction id")
    kind = obj["kind"]
    if kind not in TX_KINDS:
        raise BadInput(f"kind {str(kind)[:40]!r} is not one of {', '.join(TX_KINDS)}")
    memo = obj.get("memo", "")
    if not isinstance(memo, str):
        raise BadInput("memo must be text")
    if len(memo) > MAX_MEMO:
        raise BadInput(f"memo is longer than {MAX_MEMO} characters")
    if "\x00" in memo:
        raise BadInput("memo may not hold a NUL character")
    ref = obj.get("ref")
    if kind in _KINDS_WITH_REF:
        ref = check_id(ref, f"the {kind}'s ref")
    elif ref is not None:
        raise BadInput(f"a {kind} takes no 'ref'")
    timeout = obj.get("timeout")
    if kind == HOLD:
        if isinstance(timeout, bool) or not isinstance(timeout, int) or not 0 < timeout <= MAX_TIMEOUT_S:
            raise BadInput(f"a hold needs 'timeout', whole seconds from 1 to {MAX_TIMEOUT_S}")
    elif timeout is not None:
        raise BadInput(f"a {kind} takes no 'timeout'")
    quote = obj.get("quote")
    travel = obj.get("travel")
    if quote is not None and kind not in _KINDS_WITH_TERMS:
        raise BadInput(f"a {kind} takes no 'quote'")
    if travel is not None and kind not in _KINDS_WITH_TRAVEL:
        raise BadInput(f"a {kind} takes no 'travel'")
    legs = parse_legs(obj["legs"], kind)
    return Tx(
        ledger=ledger,
        id=tx_id,
        kind=kind,
        legs=legs,
        memo=memo,
        ref=ref,
        timeout_s=timeout,
        quote=None if quote is None else parse_quote(quote),
        travel=None if travel is None else parse_travel(travel),
    )


def _exact_fields(obj: object, fields: tuple[str, ...], what: str) -> Mapping[str, Any]:
    if not isinstance(obj, Mapping) or set(obj) != set(fields):
        raise BadInput(f"{what} must be an object of exactly {', '.join(fields)}")
    for name in fields:
        value = obj[name]
        if not isinstance(value, str) or not value or len(value) > 500 or "\x00" in value:
            raise BadInput(f"{what} {name} must be text of 1 to 500 characters")
    return obj


def parse_quote(obj: object) -> QuoteTerms:
    """The ``quote`` a currency exchange is bound to: id, rate (a decimal string), source, expiry."""
    q = _exact_fields(obj, _QUOTE_FIELDS, "quote")
    if not _RATE.fullmatch(q["rate"]):
        raise BadInput("quote rate must be a decimal number written as text, e.g. \"0.00561\" (never a JSON float)")
    if not _TIME.fullmatch(q["expires_at"]):
        raise BadInput("quote expires_at must be a UTC time like 2026-11-22T09:30:00.000000Z")
    return QuoteTerms(id=check_id(q["id"], "quote id"), rate=q["rate"], source=q["source"], expires_at=q["expires_at"])


def parse_travel(obj: object) -> Travel:
    """Travel-rule data: the originator and one beneficiary, or a batch's beneficiaries (two or more).

    Each party is its id, account, kind and jurisdiction. One beneficiary is
    written ``"beneficiary": {...}``; several ``"beneficiaries": [{...}, ...]``
    (a list of one is refused, so each value has one wire form).
    """
    if not isinstance(obj, Mapping) or set(obj) not in ({"originator", "beneficiary"}, {"originator", "beneficiaries"}):
        raise BadInput("travel must be an object of exactly originator and beneficiary (or beneficiaries, a list of two or more)")
    originator = _parse_party(obj["originator"], "originator")
    if "beneficiary" in obj:
        return Travel(originator=originator, beneficiary=_parse_party(obj["beneficiary"], "beneficiary"))
    listed = obj["beneficiaries"]
    if not isinstance(listed, list) or not 2 <= len(listed) <= MAX_LEGS:
        raise BadInput(f"travel beneficiaries must be a list of 2 to {MAX_LEGS} parties (one beneficiary: 'beneficiary')")
    parties = tuple(_parse_party(p, f"beneficiary {n}") for n, p in enumerate(listed, 1))
    if len({(p.id, p.account) for p in parties}) != len(parties):
        raise BadInput("travel beneficiaries name the same party and account twice")
    return Travel(originator=originator, beneficiary=parties[0], others=parties[1:])


def _parse_party(obj: object, role: str) -> Party:
    p = _exact_fields(obj, _PARTY_FIELDS, f"travel {role}")
    if p["kind"] not in PARTICIPANT_KINDS or not re.fullmatch(r"[A-Z]{2}", p["jurisdiction"]):
        raise BadInput(f"travel {role} needs a participant kind and a two-letter jurisdiction")
    return Party(
        id=check_id(p["id"], f"travel {role} id", PARTICIPANT_PATTERN),
        account=check_id(p["account"], f"travel {role} account"),
        kind=p["kind"],
        jurisdiction=p["jurisdiction"],
    )


def parse_legs(value: object, kind: str) -> tuple[Leg, ...]:
    if not isinstance(value, list):
        raise BadInput("'legs' must be a list")
    if kind in _KINDS_WITHOUT_LEGS:
        if value:
            raise BadInput(f"a {kind} moves nothing itself: its legs must be empty")
        return ()
    if not value:
        raise BadInput("a transaction needs at least one leg")
    if len(value) > MAX_LEGS:
        raise BadInput(f"a transaction has at most {MAX_LEGS} legs")
    legs = []
    for n, item in enumerate(value, 1):
        if not isinstance(item, Mapping):
            raise BadInput(f"leg {n} must be a JSON object")
        missing = [f for f in _LEG_FIELDS if f not in item]
        if missing:
            raise BadInput(f"leg {n} is missing {missing[0]!r}")
        extra = set(item) - set(_LEG_FIELDS)
        if extra:
            raise BadInput(f"leg {n} has unknown field {sorted(extra)[0]!r}")
        debit = check_id(item["debit"], f"leg {n} debit account")
        credit = check_id(item["credit"], f"leg {n} credit account")
        if debit == credit:
            raise BadInput(f"leg {n} debits and credits the same account {debit}")
        asset = item["asset"]
        if not isinstance(asset, str) or not asset or len(asset) > 32:
            raise BadInput(f"leg {n} asset must be an asset code")
        amount = check_minor_units(item["amount"], f"leg {n} amount")
        legs.append(Leg(debit=debit, credit=credit, asset=asset, amount=amount))
    return tuple(legs)
