"""Strict input and one encoding: a transaction has exactly one wire form, and nothing else is read.

Refused: a member name twice in one object (I-JSON, which RFC 8785 needs:
readers disagree about which value counts), a signature in any spelling but
canonical base64url, an optional member given as ``null``, and control,
line-separator or bidi characters in a memo or other text. And the wire
form is one-to-one: parsing a transaction's ``to_wire()`` gives it back, and
a line's transaction written back gives the line's canonical bytes.
"""

from __future__ import annotations

import base64
import json

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from wonledger import BadInput, BadSignature, Leg, Tx, parse_line
from wonledger.domain.model import FORBIDDEN_TEXT, MAX_TIMEOUT_S, PLAIN_KINDS, Party, QuoteTerms, Travel
from wonledger.domain.signing import canonical_bytes, tx_bytes, unb64url
from wonledger.domain.strict import DuplicateMember, loads, unique_members
from wonledger.domain.wire import parse_tx, wire_bytes
from wonledger.testing import strategies
from wonledger_cli.render import emit_json, safe

SIG = base64.urlsafe_b64encode(bytes(range(64))).rstrip(b"=").decode()
TX = {
    "ledger": "wl-test",
    "id": "pay-0001",
    "kind": "transfer",
    "memo": "invoice 7",
    "legs": [{"debit": "alice:KRWS", "credit": "bob:KRWS", "asset": "KRWS", "amount": 150000}],
}


def line(tx: dict | None = None, sig: str = SIG) -> str:  # type: ignore[type-arg]
    return json.dumps({"tx": tx if tx is not None else TX, "signatures": [{"signer": "alice", "sig": sig}]})


# -- I-JSON: no member named twice ------------------------------------------------------


@pytest.mark.parametrize(
    ("original", "doubled", "name"),
    [
        ('"amount": 150000', '"amount": 1, "amount": 150000', "amount"),  # Python's json keeps the last
        ('"kind": "transfer"', '"kind": "transfer", "kind": "transfer"', "kind"),  # even when both agree
        ('"memo": "invoice 7"', '"memo": "invoice 7", "memo": "other"', "memo"),
        ('"signer": "alice"', '"signer": "mallory", "signer": "alice"', "signer"),
        ('"tx": {', '"tx": {}, "tx": {', "tx"),
    ],
)
def test_a_member_named_twice_in_one_object_is_refused_naming_it(original: str, doubled: str, name: str) -> None:
    text = line()
    assert original in text
    with pytest.raises(BadInput, match=f"the member '{name}' appears twice"):
        parse_line(text.replace(original, doubled, 1))


def test_the_same_name_in_two_different_objects_is_fine() -> None:
    assert loads('{"a": {"a": 1}, "b": [{"a": 2}, {"a": 3}]}') == {"a": {"a": 1}, "b": [{"a": 2}, {"a": 3}]}
    with pytest.raises(DuplicateMember) as caught:
        unique_members([("x", 1), ("y", 2), ("x", 3)])
    assert caught.value.name == "x"


# -- canonical base64url -------------------------------------------------------------------


def test_a_signature_has_one_spelling_only() -> None:
    assert parse_line(line()).signatures[0].sig == SIG
    low_bits = SIG[:-1] + chr(ord(SIG[-1]) + 1)  # the same 64 bytes for a lax decoder: unused bits set
    assert base64.urlsafe_b64decode(low_bits + "==") == base64.urlsafe_b64decode(SIG + "==")
    standard = base64.b64encode(bytes(range(64))).rstrip(b"=").decode()
    assert standard != SIG  # '+' and '/' where base64url has '-' and '_'
    for spelling in (SIG + "==", low_bits, standard, SIG[:-1], SIG + " ", "", "@" + SIG[1:]):
        with pytest.raises(BadSignature):
            parse_line(line(sig=spelling))
        if spelling:  # (the empty text is the canonical spelling of no bytes; parse_line wants 64)
            with pytest.raises(BadSignature):
                unb64url(spelling)


# -- optional members are absent, never null ---------------------------------------------


@pytest.mark.parametrize("name", ["memo", "ref", "timeout", "quote", "travel"])
def test_an_optional_member_given_as_null_is_refused(name: str) -> None:
    with pytest.raises(BadInput, match=f"'{name}' is null"):
        parse_line(line(TX | {name: None}))


def test_a_missing_memo_and_an_empty_one_are_two_transactions_each_read_back_as_sent() -> None:
    absent = parse_line(line({k: v for k, v in TX.items() if k != "memo"}))
    empty = parse_line(line(TX | {"memo": ""}))
    assert absent.tx.memo is None and empty.tx.memo == ""
    assert tx_bytes(absent.tx) == absent.canonical and tx_bytes(empty.tx) == empty.canonical
    assert absent.canonical != empty.canonical


# -- no control characters in text -----------------------------------------------------------


def test_every_refused_character_is_a_control_a_separator_or_a_bidi_control() -> None:
    import unicodedata

    for ch in FORBIDDEN_TEXT:
        assert unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") and not ch.isprintable(), hex(ord(ch))
    assert {"\x00", "\n", "\x1b", "\x7f", "\x85", "\x9b", "\u2028", "\u2029", "\u202e", "\u2066", "\u2069"} <= FORBIDDEN_TEXT


@pytest.mark.parametrize("ch", ["\x00", "\t", "\n", "\r", "\x1b", "\x7f", "\x85", "\x9b", "\u2028", "\u2029", "\u202a", "\u202e", "\u2066", "\u2069", "\u200f"])
def test_a_memo_or_any_other_text_with_a_control_character_is_refused(ch: str) -> None:
    with pytest.raises(BadInput, match=f"U\\+{ord(ch):04X}"):
        parse_line(line(TX | {"memo": f"invoice {ch}7"}))
    with pytest.raises(BadInput, match=f"U\\+{ord(ch):04X}"):
        parse_line(line(TX | {"legs": [TX["legs"][0] | {"asset": "KRWS" + ch}]}))  # type: ignore[index, operator]
    quote = {"id": "q-1", "rate": "0.5", "source": "mid" + ch, "expires_at": "2026-11-22T09:30:00.000000Z"}
    with pytest.raises(BadInput, match=f"U\\+{ord(ch):04X}"):
        parse_line(line(TX | {"quote": quote}))


def test_text_in_any_script_with_quotes_and_backslashes_is_a_memo() -> None:
    memo = 'invoice "7" — 송금 💸 \\ done; עברית and العربية without overrides'
    assert parse_line(line(TX | {"memo": memo})).tx.memo == memo


def test_what_the_terminal_is_shown_has_every_non_printable_character_escaped(capsys: pytest.CaptureFixture[str]) -> None:
    shown = safe("pay\u202eevil\x1b[2J\nnext\u2028 송금 💸")
    assert shown == "pay\\u202eevil\\x1b[2J\\x0anext\\u2028 송금 💸"
    assert shown.isprintable()
    emit_json({"memo": "a\u202eb\x85c\u2028d 송금"})
    out = capsys.readouterr().out
    assert out == '{"memo": "a\\u202eb\\u0085c\\u2028d 송금"}\n' and json.loads(out)["memo"] == "a\u202eb\x85c\u2028d 송금"


# -- one encoding ------------------------------------------------------------------------------

ids = strategies.transaction_ids(max_size=24)
text = st.text(alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="".join(FORBIDDEN_TEXT)), min_size=1, max_size=12)
parties = st.builds(
    Party,
    id=strategies.participant_ids(max_size=12),
    account=strategies.account_ids(),
    kind=st.sampled_from(("bank", "individual", "corporate")),
    jurisdiction=st.sampled_from(("KR", "HK", "US")),
)
quotes = st.builds(
    QuoteTerms,
    id=ids,
    rate=st.from_regex(r"[0-9]{1,5}(\.[0-9]{1,8})?", fullmatch=True),
    source=text,
    expires_at=st.just("2026-11-22T09:30:00.000000Z"),
)


@st.composite
def any_tx(draw: st.DrawFn) -> Tx:
    """Every shape of transaction the wire format carries: each kind, each optional member present or absent."""
    kind = draw(st.sampled_from((*PLAIN_KINDS, "hold", "post", "void", "reversal")))
    legs = () if kind == "void" else tuple(
        draw(st.lists(st.builds(Leg, debit=st.just("a:K"), credit=strategies.account_ids().filter(lambda a: a != "a:K"), asset=strategies.asset_codes(), amount=strategies.amounts()), min_size=1, max_size=3))
    )
    terms = kind in (*PLAIN_KINDS, "hold")
    return Tx(
        ledger=draw(ids),
        id=draw(ids),
        kind=kind,
        legs=legs,
        memo=draw(st.none() | strategies.memos(max_size=30)),
        ref=draw(ids) if kind in ("post", "void", "reversal") else None,
        timeout_s=draw(st.integers(1, MAX_TIMEOUT_S)) if kind == "hold" else None,
        quote=draw(st.none() | quotes) if terms else None,
        travel=draw(st.none() | st.builds(Travel, parties, parties)) if terms else None,
    )


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(any_tx())
def test_a_transaction_read_back_from_its_wire_form_is_itself(tx: Tx) -> None:
    wire = tx.to_wire()
    assert parse_tx(wire) == tx
    assert parse_tx(json.loads(json.dumps(wire))) == tx
    assert wire_bytes(tx) == tx_bytes(tx) == rfc8785.dumps(wire)
    signed = parse_line(json.dumps({"tx": wire, "signatures": [{"signer": "alice", "sig": SIG}]}))
    assert signed.tx == tx and signed.canonical == tx_bytes(tx)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(strategies.wire_lines())
def test_a_lines_transaction_written_back_gives_the_lines_canonical_bytes(text_line: str) -> None:
    signed = parse_line(text_line)
    canonical = rfc8785.dumps(json.loads(text_line)["tx"])
    assert signed.canonical == canonical
    assert canonical_bytes(signed.tx.to_wire()) == canonical
    assert rfc8785.dumps(signed.to_wire()) == rfc8785.dumps(json.loads(text_line))


def test_a_transaction_the_wire_format_cannot_carry_exactly_has_no_bytes() -> None:
    leg = Leg("a:K", "b:K", "K", 5)
    good = Tx("wl-test", "t-1", "transfer", (leg,))
    assert wire_bytes(good) == tx_bytes(good)
    for bad in (
        Tx("wl-test", "t-1", "transfer", (Leg("a:K", "b:K", "K", 5.0),)),  # type: ignore[arg-type]
        Tx("wl-test", "t-1", "transfer", (Leg("a:K", "b:K", "K", True),)),
        Tx("wl-test", "t-1", "transfer", [leg]),  # type: ignore[arg-type]
        Tx("wl-test", "t-1", "transfer", (leg,), memo="line\nbreak"),
        Tx("wl-test", "t-1", "hold", (leg,), timeout_s=True),  # type: ignore[arg-type]
    ):
        with pytest.raises(BadInput):
            wire_bytes(bad)
