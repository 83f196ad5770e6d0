"""The wire format refuses everything that is not exactly the README's "Signed transactions"."""

import json

import pytest

from wonledger import BadAmount, BadInput, BadSignature, LedgerError
from wonledger.domain.wire import parse_line

SIG = "A" * 85 + "A"  # 64 zero bytes in canonical base64url (the length of an Ed25519 signature)


def line(tx: dict | None = None, signatures: list | None = None, **extra: object) -> str:
    base = {
        "ledger": "wl-test",
        "id": "pay-0001",
        "kind": "transfer",
        "memo": "invoice 7",
        "legs": [{"debit": "alice:KRWS", "credit": "bob:KRWS", "asset": "KRWS", "amount": 150000}],
    }
    base.update(tx or {})
    return json.dumps({"tx": base, "signatures": signatures if signatures is not None else [{"signer": "alice", "sig": SIG}], **extra})


def test_a_well_formed_line_parses_into_a_transaction_and_its_canonical_bytes() -> None:
    signed = parse_line(line())
    assert signed.tx.id == "pay-0001"
    assert signed.tx.legs[0].amount == 150000
    assert signed.canonical.startswith(b'{"id":"pay-0001","kind":"transfer","ledger":"wl-test","legs":')


def test_a_missing_memo_is_signed_as_sent_not_as_an_empty_memo() -> None:
    raw = json.loads(line())
    del raw["tx"]["memo"]
    signed = parse_line(json.dumps(raw))
    assert b"memo" not in signed.canonical
    assert signed.tx.memo is None and "memo" not in signed.tx.to_wire()  # absent, and written back absent
    empty = parse_line(line({"memo": ""}))
    assert empty.tx.memo == "" and b'"memo":""' in empty.canonical  # an empty memo is a memo


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"legs": [{"debit": "a:K", "credit": "b:K", "asset": "K", "amount": 1.0}]}, BadAmount),
        ({"legs": [{"debit": "a:K", "credit": "b:K", "asset": "K", "amount": 0}]}, BadAmount),
        ({"legs": [{"debit": "a:K", "credit": "b:K", "asset": "K", "amount": -5}]}, BadAmount),
        ({"legs": [{"debit": "a:K", "credit": "b:K", "asset": "K", "amount": "5"}]}, BadAmount),
        ({"legs": [{"debit": "a:K", "credit": "b:K", "asset": "K", "amount": True}]}, BadAmount),
        ({"legs": [{"debit": "a:K", "credit": "b:K", "asset": "K", "amount": 2**64}]}, BadAmount),
        ({"legs": [{"debit": "a:K", "credit": "a:K", "asset": "K", "amount": 5}]}, BadInput),
        ({"legs": [{"debit": "a:K", "credit": "b:K", "asset": "K", "amount": 5, "x": 1}]}, BadInput),
        ({"legs": [{"debit": "a:K", "credit": "b:K", "amount": 5}]}, BadInput),
        ({"legs": []}, BadInput),
        ({"id": "x" * 129}, BadInput),
        ({"id": "has space"}, BadInput),
        ({"id": "slash/id"}, BadInput),
        ({"id": "ünïcode"}, BadInput),
        ({"id": "_expire:sneaky"}, BadInput),
        ({"kind": "tranfer"}, BadInput),
        ({"kind": "hold"}, BadInput),  # a hold needs a timeout
        ({"timeout": 5}, BadInput),  # and only a hold takes one
        ({"ref": "x"}, BadInput),
        ({"memo": 5}, BadInput),
        ({"memo": "nul\x00byte"}, BadInput),
        ({"extra": 1}, BadInput),
    ],
)
def test_malformed_transactions_are_refused_with_a_precise_error(change: dict, error: type) -> None:
    with pytest.raises(error):
        parse_line(line(change))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{",
        '{"tx": ',
        "[]",
        "null",
        '{"tx": {}, "signatures": []}',
        b"\xff\xfe\x00binary",
        '{"tx": {"amount": NaN}}',
        '{"tx": {"amount": Infinity}}',
        "[" * 100_000,
        '{"a": ' + "1" * 5000 + "}",
    ],
)
def test_junk_lines_are_refused_as_ledger_errors_never_crashes(text: str | bytes) -> None:
    with pytest.raises(LedgerError):
        parse_line(text)


def test_signatures_must_be_a_list_of_signer_and_sig() -> None:
    with pytest.raises(BadSignature):
        parse_line(line(signatures={"signer": "alice"}))  # type: ignore[arg-type]
    with pytest.raises(BadSignature):
        parse_line(line(signatures=[{"signer": "alice"}]))
    with pytest.raises(BadSignature):
        parse_line(line(signatures=[{"signer": "alice", "sig": "A"}, {"signer": "alice", "sig": "B"}]))


def test_fields_beside_tx_and_signatures_are_refused() -> None:
    with pytest.raises(BadInput):
        parse_line(line(note="hi"))
