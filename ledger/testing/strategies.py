"""Hypothesis strategies for property tests of programs that use wonledger.

Values the ledger accepts:

- :func:`asset_codes`, :func:`currencies`, :func:`assets`: asset codes and
  :class:`~wonledger.domain.money.Asset` values (exponents 0 to 4 unless told);
- :func:`amounts`: positive ``int`` minor units up to
  :data:`~wonledger.domain.money.MAX_AMOUNT`; :func:`major_amounts` and
  :func:`major_amount_texts`: major-unit text ("1,234.50") that
  :func:`~wonledger.domain.money.parse_amount` accepts, with or without the minor
  units it stands for;
- :func:`transaction_ids`, :func:`participant_ids`, :func:`account_ids`,
  :func:`memos`: ids and text in the shapes the wire format allows;
- :func:`legs` and :func:`transactions`: unsigned :class:`~wonledger.domain.model.Leg`
  and :class:`~wonledger.domain.model.Tx` values over accounts you name;
- :func:`signed_transactions`: :class:`~wonledger.domain.model.SignedTx` values over the
  existing accounts of a :class:`~wonledger.service.facade.Ledger`, signed with its key
  store; they pass every check but the balance ones;
- :func:`wire_envelopes` and :func:`wire_lines`: well-formed lines of the
  batch format (signatures are well-formed text, not valid signatures);
- :func:`registry_entries`: signed registry entries over a
  :class:`~wonledger.service.facade.Ledger` (a customer registered by some participant,
  each with a key it made): accepted exactly when the registrar may vouch
  for it, else refused ``NOT_AUTHORIZED`` with nothing changed.

Values the ledger must refuse:

- :func:`bad_lines` and its parts (:func:`float_amount_lines`,
  :func:`non_finite_lines`, :func:`non_positive_amount_lines`,
  :func:`oversized_amount_lines`, :func:`unknown_field_lines`,
  :func:`wrong_type_amount_lines`, :func:`bad_id_lines`,
  :func:`malformed_lines`, :func:`strict_input_lines`, :func:`truncated_lines`,
  :func:`binary_junk`):
  lines that :func:`wonledger.domain.wire.parse_line` must refuse with a
  :class:`~wonledger.domain.errors.LedgerError`, never another exception.

Money is always an ``int`` of minor units here; no strategy draws a float
except to prove that floats are refused.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from hypothesis import strategies as st

from wonledger.domain.errors import DbUnreachable, DuplicateConflict, UnknownTransaction
from wonledger.domain.model import (
    FORBIDDEN_TEXT,
    HOLD,
    MAX_LEGS,
    MAX_MEMO,
    MAX_TIMEOUT_S,
    PLAIN_KINDS,
    RESERVE,
    TX_KINDS,
    Account,
    Leg,
    SignedTx,
    Tx,
    account_id,
)
from wonledger.domain.money import ASSET_KINDS, MAX_AMOUNT, Asset
from wonledger.domain.strict import b64url

if TYPE_CHECKING:
    from wonledger.service.facade import Ledger

__all__ = [
    "account_ids",
    "amounts",
    "asset_codes",
    "assets",
    "bad_id_lines",
    "bad_lines",
    "binary_junk",
    "currencies",
    "float_amount_lines",
    "hold_timeouts",
    "legs",
    "major_amount_texts",
    "major_amounts",
    "malformed_lines",
    "memos",
    "non_finite_lines",
    "non_positive_amount_lines",
    "oversized_amount_lines",
    "participant_ids",
    "signed_transactions",
    "strict_input_lines",
    "transaction_ids",
    "transactions",
    "truncated_lines",
    "unknown_field_lines",
    "wire_envelopes",
    "wire_lines",
    "wrong_type_amount_lines",
]

_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOWER = "abcdefghijklmnopqrstuvwxyz"
_DIGITS = "0123456789"
_ALNUM = _UPPER + _LOWER + _DIGITS
_ID_REST = _ALNUM + "._:-"
_PARTICIPANT_REST = _LOWER + _DIGITS + "._-"
_MEMO_CHARS = st.characters(exclude_categories=["Cs"], exclude_characters="".join(sorted(FORBIDDEN_TEXT)))


# -- assets and amounts ----------------------------------------------------


def asset_codes() -> st.SearchStrategy[str]:
    """Asset codes: a letter, then up to 31 letters, digits or dots (``KRWS``, ``dKRW.hanriver``)."""
    return st.builds(
        str.__add__,
        st.sampled_from(_UPPER + _LOWER),
        st.text(alphabet=_ALNUM + ".", max_size=31),
    )


def currencies() -> st.SearchStrategy[str]:
    """Three-letter ISO 4217-shaped currency codes (``KRW``, ``HKD``, ``QXZ``)."""
    return st.one_of(st.sampled_from(("KRW", "HKD", "USD")), st.text(alphabet=_UPPER, min_size=3, max_size=3))


def participant_ids(max_size: int = 64) -> st.SearchStrategy[str]:
    """Participant ids: lower-case letters, digits, ``. _ -``, starting with a letter or digit; no ``:``."""
    return st.builds(
        str.__add__,
        st.sampled_from(_LOWER + _DIGITS),
        st.text(alphabet=_PARTICIPANT_REST, max_size=max(0, min(max_size, 64) - 1)),
    )


def assets(
    exponents: st.SearchStrategy[int] | None = None, issuers: st.SearchStrategy[str] | None = None
) -> st.SearchStrategy[Asset]:
    """:class:`~wonledger.domain.money.Asset` values, exponents 0 to 4 unless ``exponents`` says otherwise."""
    return st.builds(
        Asset,
        code=asset_codes(),
        currency=currencies(),
        kind=st.sampled_from(ASSET_KINDS),
        exponent=exponents if exponents is not None else st.integers(0, 4),
        issuer=issuers if issuers is not None else participant_ids(),
    )


def amounts(min_value: int = 1, max_value: int = MAX_AMOUNT) -> st.SearchStrategy[int]:
    """Positive amounts in minor units (``int``, never ``float``), at most :data:`~wonledger.domain.money.MAX_AMOUNT`."""
    if not 1 <= min_value <= max_value <= MAX_AMOUNT:
        raise ValueError(f"amounts need 1 <= min_value <= max_value <= {MAX_AMOUNT}")
    return st.integers(min_value, max_value)


_any_amount = amounts


@st.composite
def major_amounts(draw: st.DrawFn, exponent: int, max_minor: int = MAX_AMOUNT) -> tuple[str, int]:
    """``(text, minor)``: major-unit text that ``parse_amount(text, exponent)`` turns into ``minor``.

    The text varies the way people type amounts: with or without thousands
    separators, leading zeros, trailing zeros past the asset's decimals, a
    whole number without a decimal point, surrounding spaces.
    """
    minor = draw(st.integers(1, max_minor))
    whole, frac = divmod(minor, 10**exponent)
    if draw(st.booleans()):
        text = f"{whole:,}"
    else:
        text = "0" * draw(st.integers(0, 2)) + str(whole)
    decimals = str(frac).rjust(exponent, "0") if exponent else ""
    if draw(st.booleans()):
        decimals = decimals.rstrip("0")
    decimals += "0" * draw(st.integers(0, 2))
    if decimals:
        text += "." + decimals
    pad = draw(st.sampled_from(("", " ", "\t")))
    return pad + text + pad[::-1], minor


def major_amount_texts(exponent: int, max_minor: int = MAX_AMOUNT) -> st.SearchStrategy[str]:
    """Major-unit text that :func:`wonledger.domain.money.parse_amount` accepts for an asset of ``exponent``."""
    return major_amounts(exponent, max_minor).map(lambda pair: pair[0])


def hold_timeouts() -> st.SearchStrategy[int]:
    """Hold timeouts in whole seconds, from 1 to a year (the wire format's range)."""
    return st.one_of(st.sampled_from((1, 2, 60, 3600)), st.integers(1, MAX_TIMEOUT_S))


# -- ids and text -------------------------------------------------------------


def transaction_ids(max_size: int = 128) -> st.SearchStrategy[str]:
    """Client transaction ids matching :data:`wonledger.domain.model.ID_PATTERN` (1 to 128 characters)."""
    return st.builds(
        str.__add__,
        st.sampled_from(_ALNUM),
        st.text(alphabet=_ID_REST, max_size=max(0, min(max_size, 128) - 1)),
    )


def account_ids() -> st.SearchStrategy[str]:
    """Account ids of the shape ``owner:asset[:label]`` (not necessarily existing accounts)."""
    return st.builds(
        account_id,
        participant_ids(max_size=20),
        asset_codes(),
        st.one_of(st.just(""), participant_ids(max_size=12)),
    )


def memos(max_size: int = MAX_MEMO) -> st.SearchStrategy[str]:
    """Memos the wire format accepts: text without control, line-separator or bidi characters, at most 1000 characters."""
    return st.text(alphabet=_MEMO_CHARS, max_size=min(max_size, MAX_MEMO))


# -- legs and transactions --------------------------------------------------


def legs(
    accounts: Sequence[str], asset: str, amounts: st.SearchStrategy[int] | None = None
) -> st.SearchStrategy[Leg]:
    """Legs moving ``asset`` between two different accounts of ``accounts`` (all holding ``asset``)."""
    names = sorted(set(accounts))
    if len(names) < 2:
        raise ValueError("legs need at least two accounts")
    amount_strategy = amounts if amounts is not None else _any_amount()
    pairs = st.tuples(st.sampled_from(names), st.sampled_from(names)).filter(lambda p: p[0] != p[1])
    return st.builds(lambda pair, amount: Leg(pair[0], pair[1], asset, amount), pairs, amount_strategy)


@st.composite
def transactions(
    draw: st.DrawFn,
    ledger_id: str,
    accounts: Sequence[str] | Mapping[str, Sequence[str]],
    asset: str | None = None,
    *,
    kinds: Sequence[str] = ("transfer",),
    max_legs: int = 3,
    amounts: st.SearchStrategy[int] | None = None,
    ids: st.SearchStrategy[str] | None = None,
) -> Tx:
    """Unsigned transactions for ledger ``ledger_id``.

    ``accounts`` is a list of account ids all holding ``asset``, or a mapping
    from asset code to the accounts holding it (each leg then picks an asset
    with at least two accounts). ``kinds`` are drawn from; a ``hold`` gets a
    timeout. The ledger checks balances, not these values.
    """
    if isinstance(accounts, Mapping):
        by_asset = {code: sorted(set(held)) for code, held in accounts.items()}
    else:
        if asset is None:
            raise ValueError("name the asset of a list of accounts")
        by_asset = {asset: sorted(set(accounts))}
    by_asset = {code: held for code, held in by_asset.items() if len(held) >= 2}
    if not by_asset:
        raise ValueError("transactions need an asset with at least two accounts")
    if not 1 <= max_legs <= MAX_LEGS:
        raise ValueError(f"max_legs must be from 1 to {MAX_LEGS}")
    for kind in kinds:
        if kind not in PLAIN_KINDS + (HOLD,):
            raise ValueError(f"transactions draws plain kinds and holds, not {kind!r}")
    count = draw(st.integers(1, max_legs))
    drawn = []
    for _ in range(count):
        code = draw(st.sampled_from(sorted(by_asset)))
        drawn.append(draw(legs(by_asset[code], code, amounts)))
    kind = draw(st.sampled_from(tuple(kinds)))
    return Tx(
        ledger=ledger_id,
        id=draw(ids if ids is not None else transaction_ids()),
        kind=kind,
        legs=tuple(drawn),
        memo=draw(st.none() | memos(max_size=40)),  # absent, or a memo (possibly empty)
        timeout_s=draw(hold_timeouts()) if kind == HOLD else None,
    )


def signed_transactions(
    ledger: Ledger,
    *,
    kinds: Sequence[str] = ("transfer",),
    max_legs: int = 3,
    amounts: st.SearchStrategy[int] | None = None,
    ids: st.SearchStrategy[str] | None = None,
    include_issuance: bool = True,
    may_debit: Callable[[Account], bool] | None = None,
) -> st.SearchStrategy[SignedTx]:
    """Transactions over ``ledger``'s existing accounts, signed with its key store (``ledger.sign``).

    The accounts are read once, when the strategy is made; only accounts
    whose owners have a key in ``ledger._keys`` are debited. Every value
    passes the book's checks of shape, accounts, assets and signatures, so
    submitting it posts it or is refused for a balance reason
    (:class:`~wonledger.domain.errors.InsufficientFunds`), as long as its id is new to
    the ledger: draw ids that cannot repeat (``ids``), or use a fresh ledger
    per example. With ``include_issuance=False`` issuers' issuance accounts
    (which may go negative) are left out; ``may_debit`` narrows the accounts
    debited further (e.g. ``lambda a: a.available >= 1000``), judged on the
    accounts as they were when the strategy was made. Stablecoin reserve
    and issuance accounts are always left out: moving either alone would
    break full reserve (:class:`~wonledger.domain.errors.ReserveShortfall`), which is
    the business of mints and redemptions. Each transaction moves assets of
    one currency, so in a world where each jurisdiction's customers hold
    only their own currency (the default world) none crosses a border
    (:class:`~wonledger.domain.errors.TravelRule`) or converts money
    (:class:`~wonledger.domain.errors.OutflowLimit`, :class:`~wonledger.domain.errors.RunBreaker`).
    """
    asset_kinds = {a.code: a.kind for a in ledger.registry.assets()}
    currency_of = {a.code: a.currency for a in ledger.registry.assets()}
    by_asset: dict[str, list[str]] = {}
    signable: set[str] = set()
    for account in ledger.registry.accounts():
        if not include_issuance and account.may_overdraw:
            continue
        if RESERVE in account.flags or (account.may_overdraw and asset_kinds[account.asset] == "stablecoin"):
            continue
        by_asset.setdefault(account.asset, []).append(account.id)
        if ledger._keys.has(account.owner) and (may_debit is None or may_debit(account)):
            signable.add(account.id)
    by_asset = {code: held for code, held in by_asset.items() if len(held) >= 2 and signable & set(held)}
    if not by_asset:
        raise ValueError("the ledger has no asset with two accounts, one of them one it may debit and sign for")

    currencies = sorted({currency_of[code] for code in by_asset})

    @st.composite
    def build(draw: st.DrawFn) -> SignedTx:
        # One currency per transaction: across currencies value can cross a border, and
        # from the travel-rule threshold that needs originator and beneficiary data.
        currency = draw(st.sampled_from(currencies))
        codes = sorted(code for code in by_asset if currency_of[code] == currency)
        count = draw(st.integers(1, max_legs))
        drawn = []
        for _ in range(count):
            code = draw(st.sampled_from(codes))
            debit = draw(st.sampled_from(sorted(signable & set(by_asset[code]))))
            credit = draw(st.sampled_from([a for a in by_asset[code] if a != debit]))
            drawn.append(Leg(debit, credit, code, draw(amounts if amounts is not None else _any_amount())))
        kind = draw(st.sampled_from(tuple(kinds)))
        tx = Tx(
            ledger=ledger.id,
            id=draw(ids if ids is not None else transaction_ids()),
            kind=kind,
            legs=tuple(drawn),
            memo=draw(st.none() | memos(max_size=40)),  # absent, or a memo (possibly empty)
            timeout_s=draw(hold_timeouts()) if kind == HOLD else None,
        )
        _refuse_a_replayed_id(ledger, tx)
        try:
            return ledger.sign(tx)
        except DbUnreachable as exc:
            raise _closed_ledger_error(ledger, exc) from None

    for kind in kinds:
        if kind not in PLAIN_KINDS + (HOLD,):
            raise ValueError(f"signed_transactions draws plain kinds and holds, not {kind!r}")
    return build()


# -- the two natural first tries, and what to do instead ------------------------

#: Ledgers that :func:`~wonledger.testing.fresh_ledger` has closed (and deleted): a strategy
#: made for one of them can no longer sign.
_CLOSED_LEDGERS: weakref.WeakSet[Ledger] = weakref.WeakSet()

#: Per ledger, the ids :func:`signed_transactions` has drawn for it: Hypothesis replays the
#: choices of earlier examples, so an id comes back, often with other legs.
_DRAWN_IDS: weakref.WeakKeyDictionary[Ledger, set[str]] = weakref.WeakKeyDictionary()

WHAT_WORKS = (
    "make the ledger and the strategy inside the test, one fresh ledger per example: "
    "`@given(data=st.data())`, then `with fresh_ledger() as ledger:` and "
    "`signed = data.draw(strategies.signed_transactions(ledger))` "
    "(docs/testing.md, \"The two first tries\")"
)


def note_closed(ledger: Ledger) -> None:
    """Remember that ``ledger`` was closed, so that a strategy still bound to it says why it cannot sign."""
    _CLOSED_LEDGERS.add(ledger)


def _refuse_a_replayed_id(ledger: Ledger, tx: Tx) -> None:
    """Say what to do when an id drawn for this ledger in an earlier example comes back with other content.

    Only an id drawn before is looked up, so a ledger used one example at a
    time costs nothing here.
    """
    drawn = _DRAWN_IDS.setdefault(ledger, set())
    if tx.id not in drawn:
        drawn.add(tx.id)
        return
    try:
        stored = ledger.transaction(tx.id)
    except (UnknownTransaction, DbUnreachable):
        return  # never submitted (or the ledger is gone: the signing step says so)
    if stored.tx != tx:
        raise DuplicateConflict(
            f"signed_transactions drew id {tx.id!r} again with other content, and this ledger already holds "
            f"{tx.id!r} from an earlier example: Hypothesis replays ids across examples, so one ledger shared "
            f"by all examples refuses them: {WHAT_WORKS}"
        )


def _closed_ledger_error(ledger: Ledger, cause: DbUnreachable) -> DbUnreachable:
    if ledger in _CLOSED_LEDGERS:
        why = "the ledger it was made for was closed and deleted when its `with fresh_ledger()` block ended"
    else:
        why = "the ledger it was made for cannot be reached (was it closed, or made at module level?)"
    return DbUnreachable(
        f"signed_transactions signs each value through its ledger, and {why} ({cause.message}). "
        f"A strategy made at module level outlives its ledger: {WHAT_WORKS}"
    )


# -- wire lines ---------------------------------------------------------------


def _signatures() -> st.SearchStrategy[list[dict[str, str]]]:
    sig = st.binary(min_size=64, max_size=64).map(b64url)  # canonical base64url: the only spelling accepted
    return st.lists(st.fixed_dictionaries({"signer": participant_ids(max_size=12), "sig": sig}), max_size=3, unique_by=lambda s: s["signer"])


@st.composite
def wire_envelopes(draw: st.DrawFn, ledger_id: str | None = None) -> dict[str, Any]:
    """Well-formed ``{"tx", "signatures"}`` objects of the batch format, as Python dicts.

    They parse (``parse_line(json.dumps(envelope))``); their signatures are
    base64url text of the right length, not signatures that verify.
    """
    kind = draw(st.sampled_from(PLAIN_KINDS + (HOLD,)))
    count = draw(st.integers(1, 3))
    legs_ = []
    for _ in range(count):
        debit, credit = draw(st.lists(account_ids(), min_size=2, max_size=2, unique=True))
        legs_.append({"debit": debit, "credit": credit, "asset": draw(asset_codes()), "amount": draw(amounts())})
    tx: dict[str, Any] = {
        "ledger": ledger_id if ledger_id is not None else draw(transaction_ids(max_size=20)),
        "id": draw(transaction_ids()),
        "kind": kind,
        "legs": legs_,
    }
    if draw(st.booleans()):
        tx["memo"] = draw(memos(max_size=60))
    if kind == HOLD:
        tx["timeout"] = draw(hold_timeouts())
    return {"tx": tx, "signatures": draw(_signatures())}


def wire_lines(ledger_id: str | None = None) -> st.SearchStrategy[str]:
    """Well-formed JSON lines of the batch format (see :func:`wire_envelopes`)."""
    return wire_envelopes(ledger_id).map(json.dumps)


def _mutated(mutate: Callable[[st.DrawFn, dict[str, Any]], None]) -> st.SearchStrategy[str]:
    """A well-formed envelope changed by ``mutate``, as JSON text (NaN and Infinity allowed)."""

    @st.composite
    def build(draw: st.DrawFn) -> str:
        envelope = draw(wire_envelopes())
        mutate(draw, envelope)
        return json.dumps(envelope, allow_nan=True)

    return build()


def _some_leg(draw: st.DrawFn, envelope: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = draw(st.sampled_from(envelope["tx"]["legs"]))
    return found


def float_amount_lines() -> st.SearchStrategy[str]:
    """Lines whose amount is a JSON float: ``150000.0``, ``1.5``, ``1e+20``; floats are never amounts."""

    def mutate(draw: st.DrawFn, envelope: dict[str, Any]) -> None:
        value = draw(st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(1, 10**6).map(float)))
        _some_leg(draw, envelope)["amount"] = value

    return _mutated(mutate)


def non_finite_lines() -> st.SearchStrategy[str]:
    """Lines with ``NaN``, ``Infinity`` or ``-Infinity`` as an amount or a hold's timeout."""

    def mutate(draw: st.DrawFn, envelope: dict[str, Any]) -> None:
        value = draw(st.sampled_from((float("nan"), float("inf"), float("-inf"))))
        if envelope["tx"]["kind"] == HOLD and draw(st.booleans()):
            envelope["tx"]["timeout"] = value
        else:
            _some_leg(draw, envelope)["amount"] = value

    return _mutated(mutate)


def non_positive_amount_lines() -> st.SearchStrategy[str]:
    """Lines with a zero or negative amount."""

    def mutate(draw: st.DrawFn, envelope: dict[str, Any]) -> None:
        _some_leg(draw, envelope)["amount"] = draw(st.integers(max_value=0))

    return _mutated(mutate)


_MARKER = 918273645546372819


@st.composite
def oversized_amount_lines(draw: st.DrawFn) -> str:
    """Lines with an amount above :data:`~wonledger.domain.money.MAX_AMOUNT`, up to 6000 digits long."""
    envelope = draw(wire_envelopes())
    _some_leg(draw, envelope)["amount"] = _MARKER
    huge = draw(
        st.one_of(
            st.integers(MAX_AMOUNT + 1, 2**64 + 1).map(str),
            st.integers(17, 6000).map(lambda n: "9" * n),
            st.integers(MAX_AMOUNT + 1, 2**64).map(lambda n: f"-{n}"),
        )
    )
    return json.dumps(envelope).replace(f'"amount": {_MARKER}', f'"amount": {huge}', 1)


def wrong_type_amount_lines() -> st.SearchStrategy[str]:
    """Lines whose amount is text, a boolean, null, a list or an object."""

    def mutate(draw: st.DrawFn, envelope: dict[str, Any]) -> None:
        value = draw(st.one_of(st.text(max_size=10), st.booleans(), st.none(), st.lists(st.integers(), max_size=2), st.just({"minor": 5})))
        _some_leg(draw, envelope)["amount"] = value

    return _mutated(mutate)


_FIELD_NAMES = st.text(min_size=1, max_size=12)


def unknown_field_lines() -> st.SearchStrategy[str]:
    """Lines with a field the format does not have, beside ``tx``, inside ``tx`` or inside a leg."""

    def mutate(draw: st.DrawFn, envelope: dict[str, Any]) -> None:
        where = draw(st.sampled_from(("envelope", "tx", "leg")))
        target, known = {
            "envelope": (envelope, {"tx", "signatures"}),
            "tx": (envelope["tx"], {"ledger", "id", "kind", "legs", "memo", "ref", "timeout"}),
            "leg": (_some_leg(draw, envelope), {"debit", "credit", "asset", "amount"}),
        }[where]
        name = draw(_FIELD_NAMES.filter(lambda n: n not in known))
        target[name] = draw(st.one_of(st.integers(), st.text(max_size=5), st.none()))

    return _mutated(mutate)


def _bad_ids() -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(alphabet=_ID_REST, min_size=128, max_size=300).map(lambda s: "A" + s),  # too long
        st.just(""),
        transaction_ids(max_size=20).map(lambda s: s + "\n"),  # a regex's $ would let this through
        st.sampled_from(("has space", "slash/id", "ünïcode", "-leading", ".leading", "_system", "tab\tid", "pay-1\n")),
        st.builds(
            lambda head, bad, tail: head + bad + tail,
            transaction_ids(max_size=10),
            st.characters(exclude_characters=_ID_REST),
            st.text(alphabet=_ID_REST, max_size=5),
        ),
    )


def bad_id_lines() -> st.SearchStrategy[str]:
    """Lines with an overlong, empty or ill-charactered id: the transaction's, an account's or the ledger's."""

    def mutate(draw: st.DrawFn, envelope: dict[str, Any]) -> None:
        where = draw(st.sampled_from(("id", "ledger", "debit", "credit")))
        value = draw(_bad_ids())
        if where in ("id", "ledger"):
            envelope["tx"][where] = value
        else:
            _some_leg(draw, envelope)[where] = value

    return _mutated(mutate)


def malformed_lines() -> st.SearchStrategy[str]:
    """Lines broken in shape: a missing field, a leg from an account to itself, a hold without a
    timeout, a transfer with one, an unknown kind, a memo too long or holding NUL, a signature
    list of the wrong shape, a truncated line."""

    def mutate(draw: st.DrawFn, envelope: dict[str, Any]) -> None:
        tx = envelope["tx"]
        how = draw(
            st.sampled_from(
                (
                    "missing", "self-leg", "no-legs", "too-many-legs", "hold-timeout", "timeout-on-plain",
                    "kind", "memo-long", "memo-nul", "ref", "signatures-shape", "duplicate-signer",
                    "tx-not-object", "leg-not-object", "memo-surrogate",
                )
            )
        )
        if how == "missing":
            tx.pop(draw(st.sampled_from(("ledger", "id", "kind", "legs"))))
        elif how == "self-leg":
            leg = _some_leg(draw, envelope)
            leg["credit"] = leg["debit"]
        elif how == "no-legs":
            tx["legs"] = []
        elif how == "too-many-legs":
            tx["legs"] = tx["legs"] * (MAX_LEGS + 1)
        elif how == "hold-timeout":
            tx["kind"] = HOLD
            if draw(st.booleans()):
                tx.pop("timeout", None)
            else:
                tx["timeout"] = draw(st.one_of(st.integers(max_value=0), st.integers(MAX_TIMEOUT_S + 1), st.booleans(), st.text(max_size=3)))
        elif how == "timeout-on-plain":
            tx["kind"] = "transfer"
            tx["timeout"] = draw(st.integers(1, 100))
        elif how == "kind":
            tx["kind"] = draw(st.text(max_size=12).filter(lambda k: k not in TX_KINDS))
        elif how == "memo-long":
            tx["memo"] = "m" * draw(st.integers(MAX_MEMO + 1, MAX_MEMO + 50))
        elif how == "memo-surrogate":
            tx["memo"] = draw(memos(max_size=10)) + "\ud800"  # a lone surrogate, JSON-escaped by dumps
        elif how == "memo-nul":
            tx["memo"] = draw(memos(max_size=10)) + "\x00"
        elif how == "ref":
            tx["kind"] = "transfer"
            tx.pop("timeout", None)
            tx["ref"] = draw(transaction_ids(max_size=10))
        elif how == "signatures-shape":
            envelope["signatures"] = draw(
                st.one_of(
                    st.none(), st.text(max_size=5), st.just({"signer": "alice", "sig": "AA"}),
                    st.just([{"signer": "alice"}]), st.just([{"signer": "alice", "sig": 5}]),
                    st.just([{"signer": "Alice!", "sig": "AA"}]),
                )
            )
        elif how == "duplicate-signer":
            envelope["signatures"] = [{"signer": "alice", "sig": "AA"}, {"signer": "alice", "sig": "BB"}]
        elif how == "tx-not-object":
            envelope["tx"] = draw(st.one_of(st.none(), st.integers(), st.lists(st.integers(), max_size=2), st.text(max_size=5)))
        else:
            tx["legs"][0] = draw(st.one_of(st.none(), st.integers(), st.text(max_size=5)))

    return _mutated(mutate)


def truncated_lines() -> st.SearchStrategy[str]:
    """Proper prefixes of well-formed lines (a line cut short, e.g. by a crash while writing)."""
    return st.builds(lambda line, cut: line[: cut % len(line)], wire_lines(), st.integers(0, 10**6))


def binary_junk() -> st.SearchStrategy[bytes | str]:
    """Bytes and text that are not a line of the format: random bytes, invalid UTF-8, JSON of other
    shapes, lone surrogates, deep nesting."""
    return st.one_of(
        st.binary(max_size=200),
        st.binary(min_size=1, max_size=50).map(lambda b: b"\xff" + b),
        st.text(max_size=100),
        st.sampled_from(("", "null", "[]", "{}", "0", '"tx"', "[" * 50_000, '{"tx": ' * 50_000)),
        st.recursive(
            st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5)),
            lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)),
            max_leaves=10,
        ).map(json.dumps),
    )


@st.composite
def strict_input_lines(draw: st.DrawFn) -> str:
    """Lines that break only the strict-input rules: a member named twice in one object (I-JSON), an
    optional member given as ``null``, or a control, line-separator or bidi character in the memo."""
    envelope = draw(wire_envelopes())
    tx = envelope["tx"]
    how = draw(st.sampled_from(("duplicate", "null", "control")))
    if how == "null":
        tx[draw(st.sampled_from(("memo", "ref", "timeout", "quote", "travel")))] = None
    elif how == "control":
        tx["memo"] = draw(memos(max_size=10)) + draw(st.sampled_from(sorted(FORBIDDEN_TEXT))) + draw(memos(max_size=10))
    else:
        text = json.dumps(envelope)
        # A twin of the member's first appearance, just before it: a string's quotes are escaped, so
        # '"name": ' can only be a member name.
        name = draw(st.sampled_from(("tx", "signatures", "ledger", "id", "kind", "legs", "debit", "amount")))
        at = text.index(f'"{name}": ')
        return text[:at] + f'"{name}": {draw(st.sampled_from(("0", "null", json.dumps(name))))}, ' + text[at:]
    return json.dumps(envelope)


def bad_lines() -> st.SearchStrategy[bytes | str]:
    """Lines :func:`wonledger.domain.wire.parse_line` must refuse with a :class:`~wonledger.domain.errors.LedgerError`:
    float, non-finite, non-positive, oversized or wrongly typed amounts; unknown fields; bad ids;
    malformed shapes; strict-input breaches; truncated lines; binary junk."""
    return st.one_of(
        float_amount_lines(),
        non_finite_lines(),
        non_positive_amount_lines(),
        oversized_amount_lines(),
        wrong_type_amount_lines(),
        unknown_field_lines(),
        bad_id_lines(),
        malformed_lines(),
        strict_input_lines(),
        truncated_lines(),
        binary_junk(),
    )



def registry_entries(ledger: Ledger, kinds: Sequence[str] = ("individual", "corporate")) -> st.SearchStrategy[tuple[SignedTx, bool]]:
    """A customer's registration signed by the customer (a key made for it) and by a registrar drawn from ``ledger``'s participants.

    Each value is ``(signed entry, whether the rules accept it)``: a customer
    is registered by a bank of its own jurisdiction only (policy.toml
    ``[registry]``), so the draw covers banks at home and abroad, nonbanks,
    regulators and other customers. Participant ids are drawn fresh (a
    ``c-`` prefix and a number), and the new participant's private key is
    made in the ledger's key store, as a demo operator's would be.
    """
    from wonledger.flows.registry import registration_tx
    from wonledger.flows.world import participant_key

    people = sorted((p for p in ledger.registry.participants() if ledger._keys.has(p.id)), key=lambda p: p.id)
    customer_registrars = set(ledger._book.registry_policy.customer_registrars)

    @st.composite
    def build(draw: st.DrawFn) -> tuple[SignedTx, bool]:
        registrar = draw(st.sampled_from(people))
        jurisdiction = draw(st.sampled_from(sorted({p.jurisdiction for p in people})))
        kind = draw(st.sampled_from(list(kinds)))
        pid = f"c-{draw(st.integers(min_value=0, max_value=10**9))}"
        tx = registration_tx(ledger.id, pid, kind, jurisdiction, True, participant_key(ledger._keys, pid), registrar.id)
        fine = registrar.kind in customer_registrars and registrar.jurisdiction == jurisdiction
        return ledger.sign(tx, [pid, registrar.id]), fine

    return build()
