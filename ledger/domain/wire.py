"""The wire format of signed transactions: one JSON object per line.

This module turns untrusted text into :class:`~wonledger.domain.model.SignedTx` and
refuses, with a precise error, everything that is not exactly the format:
floats, NaN, unknown or missing fields, wrong types, bad ids, a leg whose
two sides are the same account, and (strict input) a member name repeated
in one object (I-JSON, which RFC 8785 requires), an optional member given
as ``null`` instead of left out, a signature that is not the one canonical
base64url spelling of 64 bytes, and control, line-separator or bidi
characters in a memo or any other text. It checks only what the line itself
shows; the book checks it against the ledger.

:func:`parse_tx` and :meth:`Tx.to_wire` are inverses, so a transaction has
one wire form: :func:`wire_bytes` gives the canonical bytes of a transaction
built in Python after the same checks, without writing and re-reading JSON.
"""

from __future__ import annotations

import json
import re
import weakref
from collections.abc import Mapping
from typing import Any, cast

from wonledger.domain.errors import BadAmount, BadInput, BadSignature
from wonledger.domain.model import (
    EXPIRE,
    FULFIL,
    GENESIS,
    HOLD,
    ID_PATTERN,
    KEY,
    MAX_LEGS,
    MAX_MEMO,
    MAX_TIMEOUT_S,
    NEW_ASSET,
    NEW_ISSUER,
    OPEN,
    PARTICIPANT_KINDS,
    PARTICIPANT_PATTERN,
    PLAIN_KINDS,
    POST,
    PREIMAGE_BYTES,
    REGISTER,
    REGISTRY_KINDS,
    REJECT,
    REVERSAL,
    REVOKED,
    ROTATED,
    SUBJECT_FIELD,
    SYSTEM_ID_PATTERN,
    TX_KINDS,
    VOID,
    AccountSpec,
    AssetSpec,
    IssuerSpec,
    KeySpec,
    Leg,
    Partner,
    Party,
    QuoteTerms,
    Registration,
    Signature,
    SignedTx,
    Travel,
    Tx,
    check_id,
    check_text,
)
from wonledger.domain.money import MAX_AMOUNT, check_minor_units
from wonledger.domain.signing import canonical_bytes
from wonledger.domain.strict import DuplicateMember, unb64url, unique_members
from wonledger.domain.timestamps import parse_iso

MAX_LINE_BYTES = 256 * 1024
MAX_SIGNATURES = 16

_TX_REQUIRED = ("ledger", "id", "kind", "legs")
_TX_OPTIONAL = ("memo", "ref", "timeout", "quote", "travel", "opens", "snapshot", "condition", "deadline", "partner", "preimage") + tuple(
    SUBJECT_FIELD.values()
)
_QUOTE_FIELDS = ("id", "rate", "source", "expires_at")
_PARTY_FIELDS = ("id", "account", "kind", "jurisdiction")
#: A party of the partner ledger, named by reference: its ledger and its public key there too.
_REMOTE_PARTY_FIELDS = _PARTY_FIELDS + ("ledger", "public_key")
#: SHA-256 as a conditional hold's condition and a fulfil's preimage are written: lowercase hex, one spelling.
_HEX_32 = re.compile(r"^[0-9a-f]{64}$")
_RATE = re.compile(r"^[0-9]{1,20}(\.[0-9]{1,20})?$")
_TIME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$")
#: Kinds that move money and so may be bound to a quote or carry travel-rule data.
_KINDS_WITH_TERMS = PLAIN_KINDS + (HOLD,)
#: A reversal moves value back across the border its original crossed, so it may carry travel data too.
_KINDS_WITH_TRAVEL = _KINDS_WITH_TERMS + (REVERSAL,)
_LEG_FIELDS = ("debit", "credit", "asset", "amount")
_TX_FIELDS = frozenset(_TX_REQUIRED + _TX_OPTIONAL)
_LEG_FIELD_SET = frozenset(_LEG_FIELDS)
#: Kinds that finish or undo an earlier transaction and so must name it.
_KINDS_WITH_REF = (POST, VOID, EXPIRE, REVERSAL, FULFIL, REJECT)
#: Kinds that move nothing themselves.
_KINDS_WITHOUT_LEGS = (VOID, EXPIRE, GENESIS, REJECT) + REGISTRY_KINDS
#: Kinds that may open accounts before their legs move.
_KINDS_WITH_OPENS = PLAIN_KINDS + (HOLD, OPEN)
_ASSET_KINDS = ("wholesale_cbdc", "deposit_token", "correspondent_balance")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_ASSET_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9.]{0,31}$")


def _refuse_float(text: str) -> None:
    raise BadAmount(f"a float ({text}) is not an amount; amounts are integers of minor units")


def _refuse_constant(text: str) -> None:
    raise BadAmount(f"{text} is not a number wonledger accepts")


_decode = json.JSONDecoder(parse_float=_refuse_float, parse_constant=_refuse_constant, object_pairs_hook=unique_members).decode
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
    except DuplicateMember as exc:
        raise BadInput(f"the member {exc.name!r} appears twice in one object: I-JSON (RFC 7493) names each member once") from None
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
    signatures = parse_signatures(obj.get("signatures"), tx)
    # parse_tx has checked every key and value of obj["tx"]: it is plain JSON.
    signed = SignedTx(tx=tx, signatures=signatures, canonical=canonical_bytes(obj["tx"], plain=True))
    _PARSED[id(signed)] = signed
    return signed


def parse_signatures(value: object, tx: Tx | None = None) -> tuple[Signature, ...]:
    """The signatures; a key rotation carries its participant's twice: the current key's, then the new key's."""
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
        try:
            unb64url(item["sig"], 64, f"the signature of {signer}")
        except ValueError as exc:
            raise BadSignature(str(exc)) from None
        if signer in seen and not (
            tx is not None and tx.kind == KEY and isinstance(tx.subject, KeySpec) and tx.subject.reason == ROTATED
            and signer == tx.subject.participant and sum(1 for s in found if s.signer == signer) == 1
        ):
            raise BadSignature(f"{signer} signed twice")
        seen.add(signer)
        found.append(Signature(signer=signer, sig=item["sig"]))
    return tuple(found)


def signature_list_bytes(signatures: tuple[Signature, ...]) -> bytes:
    """The RFC 8785 bytes of a signature list this module parsed, written out directly.

    Each signer matches the participant-id pattern and each sig is base64url
    text, so neither holds a character JSON escapes; the members in RFC 8785
    order ("sig" before "signer") with no spaces are then the canonical form
    (a test holds the two to byte equality).
    """
    return ("[" + ",".join(['{"sig":"' + s.sig + '","signer":"' + s.signer + '"}' for s in signatures]) + "]").encode()


def parse_tx(obj: object, journal: bool = False) -> Tx:
    """A ``tx`` object → :class:`Tx`; ``journal`` also admits the ledger's own ids (read back from the journal)."""
    has_optional = _check_members(obj)
    obj = cast(Mapping[str, Any], obj)  # _check_members refused anything but an object
    ledger = check_id(obj["ledger"], "ledger id")
    tx_id = obj["id"]
    if not (journal and isinstance(tx_id, str) and SYSTEM_ID_PATTERN.fullmatch(tx_id)):
        tx_id = check_id(tx_id, "transaction id")
    kind = obj["kind"]
    if kind not in TX_KINDS:
        raise BadInput(f"kind {str(kind)[:40]!r} is not one of {', '.join(TX_KINDS)}")
    memo = _parse_memo(obj.get("memo"))
    ref = obj.get("ref")
    if kind in _KINDS_WITH_REF:
        ref = check_id(ref, f"the {kind}'s ref")
    elif ref is not None:
        raise BadInput(f"a {kind} takes no 'ref'")
    timeout = obj.get("timeout")
    conditional = _parse_conditional(obj, kind, ledger) if has_optional or kind == FULFIL else None
    if kind == HOLD and conditional is None:
        if isinstance(timeout, bool) or not isinstance(timeout, int) or not 0 < timeout <= MAX_TIMEOUT_S:
            raise BadInput(
                f"a hold needs 'timeout', whole seconds from 1 to {MAX_TIMEOUT_S} "
                "(or, a conditional hold, 'condition', 'deadline' and 'partner')"
            )
    elif timeout is not None:
        raise BadInput(f"a {kind} takes no 'timeout'")
    condition, deadline, partner, preimage = conditional or (None, None, None, None)
    quote = obj.get("quote")
    travel = obj.get("travel")
    if quote is not None and kind not in _KINDS_WITH_TERMS:
        raise BadInput(f"a {kind} takes no 'quote'")
    if travel is not None and kind not in _KINDS_WITH_TRAVEL:
        raise BadInput(f"a {kind} takes no 'travel'")
    legs = parse_legs(obj["legs"], kind)
    opens = obj.get("opens")
    if opens is not None and kind not in _KINDS_WITH_OPENS:
        raise BadInput(f"a {kind} opens no accounts")
    if kind == OPEN and not opens:
        raise BadInput("an open entry names the accounts it opens in 'opens'")
    subject = _parse_subject(obj, kind, has_optional)
    return Tx(
        ledger=ledger,
        id=tx_id,
        kind=kind,
        legs=legs,
        memo=memo,
        ref=ref,
        timeout_s=timeout,
        quote=None if quote is None else parse_quote(quote),
        travel=None if travel is None else _parse_travel_of(travel, partner),
        opens=() if opens is None else parse_opens(opens),
        subject=subject,
        snapshot=_parse_snapshot(obj.get("snapshot"), kind, journal),
        condition=condition,
        deadline=deadline,
        partner=partner,
        preimage=preimage,
    )


def _parse_conditional(obj: Mapping[str, Any], kind: str, ledger: str) -> tuple[str | None, str | None, Partner | None, str | None] | None:
    """A conditional hold's condition, deadline and partner, or a fulfil's preimage; None for any other transaction.

    A hold is either timed (``timeout``) or conditional (all three of
    ``condition``, ``deadline``, ``partner``), never both; a fulfil carries
    its ``preimage``; no other kind carries any of them.
    """
    terms = [name for name in ("condition", "deadline", "partner") if name in obj]
    if kind == FULFIL:
        if terms:
            raise BadInput(f"a fulfil takes no {terms[0]!r}: it names its hold in 'ref' and carries its 'preimage'")
        preimage = obj.get("preimage")
        if not isinstance(preimage, str) or not _HEX_32.fullmatch(preimage):
            raise BadInput(f"a fulfil needs 'preimage': its {PREIMAGE_BYTES} bytes as 64 lowercase hex digits")
        return None, None, None, preimage
    if "preimage" in obj:
        raise BadInput(f"a {kind} takes no 'preimage' (only a fulfil does)")
    if not terms:
        return None
    if kind != HOLD:
        raise BadInput(f"a {kind} takes no {terms[0]!r} (only a conditional hold does)")
    if "timeout" in obj:
        raise BadInput("a hold has either 'timeout' or a 'deadline' (a conditional hold), not both")
    missing = [name for name in ("condition", "deadline", "partner") if name not in obj]
    if missing:
        raise BadInput(f"a conditional hold needs 'condition', 'deadline' and 'partner': {missing[0]!r} is missing")
    condition = obj["condition"]
    if not isinstance(condition, Mapping) or set(condition) != {"sha256"}:
        raise BadInput('a conditional hold\'s condition must be {"sha256": "<64 lowercase hex>"}')
    digest = condition["sha256"]
    if not isinstance(digest, str) or not _HEX_32.fullmatch(digest):
        raise BadInput(f"a conditional hold's condition sha256 must be the SHA-256 of a {PREIMAGE_BYTES}-byte preimage as 64 lowercase hex digits")
    return digest, parse_deadline(obj["deadline"]), _parse_partner(obj["partner"], ledger), None


def parse_deadline(value: object) -> str:
    """A conditional hold's deadline: a real UTC moment in the ledger's timestamp form (``2026-11-22T09:30:00.000000Z``)."""
    if not isinstance(value, str) or not _TIME.fullmatch(value):
        raise BadInput("a conditional hold's deadline must be a UTC time like 2026-11-22T09:30:00.000000Z")
    try:
        parse_iso(value)
    except ValueError:
        raise BadInput(f"a conditional hold's deadline {value} is not a real moment") from None
    return value


def _parse_partner(value: object, ledger: str) -> Partner:
    if not isinstance(value, Mapping) or set(value) != {"ledger", "hold"}:
        raise BadInput("a conditional hold's partner must be an object of exactly ledger and hold")
    partner = Partner(ledger=check_id(value["ledger"], "partner ledger id"), hold=check_id(value["hold"], "partner hold id"))
    if partner.ledger == ledger:
        raise BadInput(f"a conditional hold's partner is on another ledger, not this ledger {ledger}")
    return partner


def _parse_travel_of(value: object, partner: Partner | None) -> Travel:
    """Travel data; a party of another ledger only on a conditional hold, and only of its partner's ledger."""
    travel = parse_travel(value)
    remote = [p for p in (travel.originator, *travel.beneficiaries) if p.ledger is not None]
    if remote:
        if partner is None:
            raise BadInput("travel data names a party of another ledger only on a conditional hold")
        if len(remote) > 1 or travel.others:
            raise BadInput("a conditional hold's travel data names one originator and one beneficiary, one of them on the partner ledger")
        if remote[0].ledger != partner.ledger:
            raise BadInput(f"travel data names {remote[0].id} on ledger {remote[0].ledger}, not the partner ledger {partner.ledger}")
    return travel


def _check_members(obj: object) -> bool:
    """Refuse a tx that is not an object of known members with the required ones; True if it has optional ones."""
    if not isinstance(obj, Mapping):
        raise BadInput("'tx' must be a JSON object")
    for name in _TX_REQUIRED:
        if name not in obj:
            raise BadInput(f"tx is missing {name!r}")
    if not _TX_FIELDS.issuperset(obj):
        raise BadInput(f"tx has unknown field {sorted(set(obj) - _TX_FIELDS)[0]!r}")
    # Every member is known and the required ones are there: any more are optional ones.
    # (verify parses every entry of the journal again; most have no optional member.)
    has_optional = len(obj) > len(_TX_REQUIRED)
    if has_optional:
        for name in _TX_OPTIONAL:
            if name in obj and obj[name] is None:
                raise BadInput(f"tx member {name!r} is null: leave an optional member out rather than give it as null")
    return has_optional


def _parse_memo(memo: object) -> str | None:
    if memo is None:
        return None
    if not isinstance(memo, str):
        raise BadInput("memo must be text")
    if len(memo) > MAX_MEMO:
        raise BadInput(f"memo is longer than {MAX_MEMO} characters")
    check_text(memo, "memo")
    return memo


def _parse_subject(obj: Mapping[str, Any], kind: str, has_optional: bool) -> Any:
    """The registry subject a registry entry carries (in the member its kind names), or None."""
    if has_optional:
        for name, field_name in SUBJECT_FIELD.items():
            if field_name in obj and kind != name:
                raise BadInput(f"a {kind} takes no {field_name!r}")
    if kind not in SUBJECT_FIELD:
        return None
    if SUBJECT_FIELD[kind] not in obj:
        raise BadInput(f"a {kind} entry needs {SUBJECT_FIELD[kind]!r}")
    return _SUBJECT_PARSERS[kind](obj[SUBJECT_FIELD[kind]])


def _parse_snapshot(snapshot: object, kind: str, journal: bool) -> str | None:
    """A genesis entry's registry, kept as its canonical text; no other kind carries one."""
    if kind != GENESIS:
        if snapshot is not None:
            raise BadInput(f"a {kind} takes no 'snapshot'")
        return None
    if not journal:
        raise BadInput("a genesis entry is written by the ledger itself, at an upgrade")
    if not isinstance(snapshot, Mapping):
        raise BadInput("a genesis entry carries its registry in 'snapshot'")
    return canonical_bytes(snapshot).decode()


def _exact_fields(obj: object, fields: tuple[str, ...], what: str) -> Mapping[str, Any]:
    if not isinstance(obj, Mapping) or set(obj) != set(fields):
        raise BadInput(f"{what} must be an object of exactly {', '.join(fields)}")
    for name in fields:
        value = obj[name]
        if not isinstance(value, str) or not value or len(value) > 500:
            raise BadInput(f"{what} {name} must be text of 1 to 500 characters")
        check_text(value, f"{what} {name}")
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
    remote = isinstance(obj, Mapping) and ("ledger" in obj or "public_key" in obj)
    p = _exact_fields(obj, _REMOTE_PARTY_FIELDS if remote else _PARTY_FIELDS, f"travel {role}")
    if p["kind"] not in PARTICIPANT_KINDS or not re.fullmatch(r"[A-Z]{2}", p["jurisdiction"]):
        raise BadInput(f"travel {role} needs a participant kind and a two-letter jurisdiction")
    return Party(
        id=check_id(p["id"], f"travel {role} id", PARTICIPANT_PATTERN),
        account=check_id(p["account"], f"travel {role} account"),
        kind=p["kind"],
        jurisdiction=p["jurisdiction"],
        ledger=check_id(p["ledger"], f"travel {role} ledger id") if remote else None,
        public_key=_public_key(p["public_key"], f"travel {role} public_key") if remote else None,
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
        if item.keys() != _LEG_FIELD_SET:
            missing = [f for f in _LEG_FIELDS if f not in item]
            if missing:
                raise BadInput(f"leg {n} is missing {missing[0]!r}")
            extra = set(item) - set(_LEG_FIELDS)
            if extra:
                raise BadInput(f"leg {n} has unknown field {sorted(extra)[0]!r}")
        # check_id, check_text and check_minor_units decide; the tests before them only spare
        # building their messages for the (usual) leg that passes: verify parses every leg again.
        debit, credit, asset, amount = item["debit"], item["credit"], item["asset"], item["amount"]
        if type(debit) is not str or not ID_PATTERN.fullmatch(debit):
            check_id(debit, f"leg {n} debit account")
        if type(credit) is not str or not ID_PATTERN.fullmatch(credit):
            check_id(credit, f"leg {n} credit account")
        if debit == credit:
            raise BadInput(f"leg {n} debits and credits the same account {debit}")
        if not isinstance(asset, str) or not asset or len(asset) > 32:
            raise BadInput(f"leg {n} asset must be an asset code")
        if not (asset.isascii() and asset.isprintable()):
            check_text(asset, f"leg {n} asset")
        if type(amount) is not int or not 0 < amount <= MAX_AMOUNT:
            amount = check_minor_units(amount, f"leg {n} amount")
        legs.append(Leg(debit, credit, asset, amount))
    return tuple(legs)


# -- registry entries ------------------------------------------------------------

def _fields(obj: object, required: tuple[str, ...], optional: tuple[str, ...], what: str) -> Mapping[str, Any]:
    if not isinstance(obj, Mapping):
        raise BadInput(f"{what} must be a JSON object")
    missing = [f for f in required if f not in obj]
    if missing:
        raise BadInput(f"{what} is missing {missing[0]!r}")
    extra = set(obj) - set(required) - set(optional)
    if extra:
        raise BadInput(f"{what} has unknown field {sorted(extra)[0]!r}")
    return obj


def _asset_code(value: object, what: str) -> str:
    if not isinstance(value, str) or not _ASSET_CODE.fullmatch(value):
        raise BadInput(f"{what} must be an asset code: a letter, then up to 31 letters, digits or dots")
    return value


def _currency(value: object, what: str) -> str:
    if not isinstance(value, str) or not _CURRENCY.fullmatch(value):
        raise BadInput(f"{what} must be a three-letter currency code such as KRW")
    return value


def _public_key(value: object, what: str) -> str:
    """An Ed25519 public key: 32 bytes in canonical base64url (43 characters)."""
    try:
        unb64url(value, 32, what)
    except ValueError as exc:
        raise BadInput(f"{exc}: an Ed25519 public key is 32 bytes in base64url, 43 characters") from None
    return value  # type: ignore[return-value]


def parse_opens(value: object) -> tuple[AccountSpec, ...]:
    """The accounts an entry opens: owner, asset, and optionally a label and the reserve flag."""
    if not isinstance(value, list) or not value:
        raise BadInput("'opens' must be a non-empty list of accounts")
    if len(value) > MAX_LEGS:
        raise BadInput(f"an entry opens at most {MAX_LEGS} accounts")
    specs = []
    for n, item in enumerate(value, 1):
        o = _fields(item, ("owner", "asset"), ("label", "reserve"), f"opened account {n}")
        label = o.get("label", "")
        if "label" in o:
            check_id(label, f"opened account {n} label", PARTICIPANT_PATTERN)
        reserve = o.get("reserve", False)
        if "reserve" in o and reserve is not True:
            raise BadInput(f"opened account {n}: 'reserve' is true or absent")
        specs.append(
            AccountSpec(
                owner=check_id(o["owner"], f"opened account {n} owner", PARTICIPANT_PATTERN),
                asset=_asset_code(o["asset"], f"opened account {n} asset"),
                label=label,
                reserve=reserve,
            )
        )
    if len({s.id for s in specs}) != len(specs):
        raise BadInput("an entry opens each account once")
    return tuple(specs)


def parse_registration(obj: object) -> Registration:
    r = _fields(obj, ("id", "kind", "jurisdiction", "resident", "public_key", "registrar"), (), "participant")
    if r["kind"] not in PARTICIPANT_KINDS:
        raise BadInput(f"participant kind {str(r['kind'])[:40]!r} is not one of {', '.join(PARTICIPANT_KINDS)}")
    if not isinstance(r["jurisdiction"], str) or not re.fullmatch(r"[A-Z]{2}", r["jurisdiction"]):
        raise BadInput("participant jurisdiction must be a two-letter country code")
    if not isinstance(r["resident"], bool):
        raise BadInput("participant resident must be true or false")
    return Registration(
        id=check_id(r["id"], "participant id", PARTICIPANT_PATTERN),
        kind=r["kind"],
        jurisdiction=r["jurisdiction"],
        resident=r["resident"],
        public_key=_public_key(r["public_key"], "participant public_key"),
        registrar=check_id(r["registrar"], "participant registrar", PARTICIPANT_PATTERN),
    )


def parse_asset_spec(obj: object) -> AssetSpec:
    a = _fields(obj, ("code", "currency", "kind", "exponent", "issuer"), (), "asset")
    if a["kind"] not in _ASSET_KINDS:
        raise BadInput(f"asset kind must be one of {', '.join(_ASSET_KINDS)} (stablecoins exist by their issuer's registration)")
    exponent = a["exponent"]
    if isinstance(exponent, bool) or not isinstance(exponent, int) or not 0 <= exponent <= 18:
        raise BadInput("asset exponent must be a whole number from 0 to 18")
    return AssetSpec(
        code=_asset_code(a["code"], "asset code"),
        currency=_currency(a["currency"], "asset currency"),
        kind=a["kind"],
        exponent=exponent,
        issuer=check_id(a["issuer"], "asset issuer", PARTICIPANT_PATTERN),
    )


def parse_issuer_spec(obj: object) -> IssuerSpec:
    i = _fields(obj, ("asset", "currency", "issuer"), (), "issuer")
    return IssuerSpec(
        asset=_asset_code(i["asset"], "issuer asset"),
        currency=_currency(i["currency"], "issuer currency"),
        issuer=check_id(i["issuer"], "issuer", PARTICIPANT_PATTERN),
    )


def parse_key_spec(obj: object) -> KeySpec:
    k = _fields(obj, ("participant", "public_key", "reason"), (), "key")
    if k["reason"] not in (ROTATED, REVOKED):
        raise BadInput(f"key reason must be {ROTATED} or {REVOKED}")
    return KeySpec(
        participant=check_id(k["participant"], "key participant", PARTICIPANT_PATTERN),
        public_key=_public_key(k["public_key"], "key public_key"),
        reason=k["reason"],
    )


_SUBJECT_PARSERS = {REGISTER: parse_registration, NEW_ASSET: parse_asset_spec, NEW_ISSUER: parse_issuer_spec, KEY: parse_key_spec}


def wire_bytes(tx: Tx) -> bytes:
    """The canonical bytes of a transaction built in Python, after every check :func:`parse_tx` makes.

    Its wire form is parsed back (a dict, not JSON text) and must give the
    same transaction: that refuses what the format would (a float or boolean
    amount, a list for a tuple, a control character in the memo), so these
    bytes mean exactly ``tx``. A ledger-written id (an expiry's) is allowed.
    """
    wire = tx.to_wire()
    again = parse_tx(wire, journal=True)
    if again != tx or type(tx.timeout_s) not in (int, type(None)):
        raise BadInput(f"{tx.id}: the transaction is not one the wire format can carry exactly")
    return canonical_bytes(wire, plain=True)
