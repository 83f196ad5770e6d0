"""`submit FILE|-` through CliRunner: signed JSON lines in, the submit JSON shape and exit codes out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Ledger

ALICE = "alice:dKRW.hanriver"
BANK = "hanriver:dKRW.hanriver"
RESERVE = "kstable:dKRW.hanriver:reserve"


def write(path: Path, *lines: str | bytes) -> Path:
    path.write_bytes(b"".join((line if isinstance(line, bytes) else line.encode()) + b"\n" for line in lines))
    return path


def good(wl: Ledger, tx_id: str, amount: int = 100, ledger_id: str | None = None) -> str:
    return wl.sign(wl.transfer_tx(tx_id, ALICE, BANK, "dKRW.hanriver", amount, ledger_id=ledger_id), ["alice"])


def rejection_lines(stderr: str) -> list[str]:
    assert "Traceback" not in stderr
    return stderr.splitlines()


def test_a_file_of_signed_lines_posts_every_line_and_exits_zero(wl: Ledger, tmp_path: Path) -> None:
    ledger_id = wl.id()
    batch = write(tmp_path / "batch.jsonl", good(wl, "pay-1", 100, ledger_id), good(wl, "pay-2", 250, ledger_id))
    before = wl.balances()
    run = wl("--json", "submit", str(batch)).ok()
    assert run.json() == {"posted": 2, "duplicates": 0, "rejected": []}
    assert run.stderr == ""
    assert wl.balances()[ALICE]["balance"] == before[ALICE]["balance"] - 350
    assert wl.tx("pay-2")["signers"] == ["alice"]
    assert wl("verify").exit_code == 0


def test_submit_for_people_prints_a_summary_line(wl: Ledger, tmp_path: Path) -> None:
    batch = write(tmp_path / "batch.jsonl", good(wl, "pay-1"))
    assert wl("submit", str(batch)).ok().stdout.strip() == "posted 1, duplicates 0, rejected 0"


def test_rerunning_the_same_file_gives_all_duplicates_exits_zero_and_changes_nothing(wl: Ledger, tmp_path: Path) -> None:
    ledger_id = wl.id()
    batch = write(tmp_path / "batch.jsonl", *(good(wl, f"pay-{n}", 10 + n, ledger_id) for n in range(5)))
    wl("submit", str(batch)).ok()
    before = wl.state()
    run = wl("--json", "submit", str(batch)).ok()
    assert run.json() == {"posted": 0, "duplicates": 5, "rejected": []}
    assert wl.state() == before


def test_submit_reads_standard_input_when_given_a_dash(wl: Ledger) -> None:
    ledger_id = wl.id()
    lines = "\n".join([good(wl, "in-1", 5, ledger_id), "", good(wl, "in-2", 6, ledger_id)]) + "\n"
    run = wl("--json", "submit", "-", input=lines.encode()).ok()
    assert run.json() == {"posted": 2, "duplicates": 0, "rejected": []}


def test_an_empty_file_posts_nothing_and_exits_zero(wl: Ledger, tmp_path: Path) -> None:
    (tmp_path / "empty.jsonl").write_bytes(b"")
    assert wl("--json", "submit", str(tmp_path / "empty.jsonl")).ok().json() == {"posted": 0, "duplicates": 0, "rejected": []}


def test_bad_lines_are_reported_by_number_and_the_good_ones_still_post(wl: Ledger, tmp_path: Path) -> None:
    ledger_id = wl.id()
    batch = write(
        tmp_path / "mixed.jsonl",
        good(wl, "ok-1", 100, ledger_id),
        '{"tx": {"ledger": "' + ledger_id + '", "id": "float-1", "kind": "transfer", "legs": [{"debit": "'
        + ALICE + '", "credit": "' + BANK + '", "asset": "dKRW.hanriver", "amount": 1.0}]}, "signatures": []}',
        "this is not json",
        good(wl, "cut-1", 100, ledger_id)[:40],
        b"\x00\xff\xfe binary \x80",
        good(wl, "ok-2", 200, ledger_id),
        good(wl, "poor-1", 10_000_000, ledger_id),
    )
    before = wl.balances()
    run = wl("--json", "submit", str(batch))
    assert run.exit_code == 1
    out = run.json()
    assert (out["posted"], out["duplicates"]) == (2, 0)
    assert [(r["line"], r["code"]) for r in out["rejected"]] == [
        (2, "BAD_AMOUNT"),
        (3, "BAD_INPUT"),
        (4, "BAD_INPUT"),
        (5, "BAD_INPUT"),
        (7, "INSUFFICIENT_FUNDS"),
    ]
    assert all(set(r) == {"line", "code", "message"} and r["message"] for r in out["rejected"])
    lines = rejection_lines(run.stderr)
    assert [line.split(": ")[:3] for line in lines] == [
        ["error", "BAD_AMOUNT", "line 2"],
        ["error", "BAD_INPUT", "line 3"],
        ["error", "BAD_INPUT", "line 4"],
        ["error", "BAD_INPUT", "line 5"],
        ["error", "INSUFFICIENT_FUNDS", "line 7"],
    ]
    assert wl.balances()[ALICE]["balance"] == before[ALICE]["balance"] - 300
    rerun = wl("--json", "submit", str(batch))
    assert rerun.exit_code == 1
    assert (rerun.json()["posted"], rerun.json()["duplicates"], len(rerun.json()["rejected"])) == (0, 2, 5)


def _bad_lines(wl: Ledger) -> dict[str, tuple[bytes, str]]:
    """One bad line each, with the code it must be refused with."""
    ledger_id = wl.id()

    def tx(tx_id: str, **leg: object) -> dict:
        t = wl.transfer_tx(tx_id, ALICE, BANK, "dKRW.hanriver", 100, ledger_id=ledger_id)
        t["legs"][0].update(leg)
        return t

    def raw(tx_obj: dict, signers: list | None = None) -> bytes:
        return json.dumps({"tx": tx_obj, "signatures": signers or []}).encode()

    signed_float = good(wl, "f-1", 100, ledger_id).replace('"amount": 100', '"amount": 100.0')
    return {
        "float-amount": (signed_float.encode(), "BAD_AMOUNT"),
        "float-amount-with-fraction": (raw(tx("f-2", amount=1.5)), "BAD_AMOUNT"),
        "exponent-amount": (raw(tx("f-3")).replace(b'"amount": 100', b'"amount": 1e2'), "BAD_AMOUNT"),
        "nan-amount": (raw(tx("f-4")).replace(b'"amount": 100', b'"amount": NaN'), "BAD_AMOUNT"),
        "string-amount": (raw(tx("f-5", amount="100")), "BAD_AMOUNT"),
        "boolean-amount": (raw(tx("f-6", amount=True)), "BAD_AMOUNT"),
        "negative-amount": (wl.sign(tx("f-7", amount=-100), ["alice"]).encode(), "BAD_AMOUNT"),
        "zero-amount": (wl.sign(tx("f-8", amount=0), ["alice"]).encode(), "BAD_AMOUNT"),
        "amount-beyond-64-bits": (raw(tx("f-9", amount=2**64)), "BAD_AMOUNT"),
        "amount-of-4000-digits": (raw(tx("f-9b")).replace(b'"amount": 100', b'"amount": ' + b"9" * 4000), "BAD_AMOUNT"),
        "amount-of-5000-digits": (raw(tx("f-9c")).replace(b'"amount": 100', b'"amount": ' + b"9" * 5000), "BAD_INPUT"),
        "asset-differs-from-its-accounts": (wl.sign(tx("m-1", asset="KRWS"), ["alice"]).encode(), "ASSET_MISMATCH"),
        "unknown-asset": (wl.sign(tx("m-2", asset="NOPE"), ["alice"]).encode(), "UNKNOWN_ASSET"),
        "unknown-account": (wl.sign(tx("m-3", credit="nobody:dKRW.hanriver"), ["alice"]).encode(), "UNKNOWN_ACCOUNT"),
        "same-account-on-both-sides": (wl.sign(tx("m-4", credit=ALICE), ["alice"]).encode(), "BAD_INPUT"),
        "id-of-129-characters": (wl.sign(tx("x" * 129), ["alice"]).encode(), "BAD_INPUT"),
        "id-with-a-space": (wl.sign(tx("pay 1"), ["alice"]).encode(), "BAD_INPUT"),
        "id-with-a-slash": (wl.sign(tx("pay/1"), ["alice"]).encode(), "BAD_INPUT"),
        "id-with-unicode": (wl.sign(tx("지불-1"), ["alice"]).encode(), "BAD_INPUT"),
        "id-ending-in-a-newline": (wl.sign(tx("pay-1\n"), ["alice"]).encode(), "BAD_INPUT"),
        "unknown-signer": (raw(tx("s-1"), [{"signer": "mallory", "sig": "AAAA"}]), "BAD_SIGNATURE"),
        "unsigned": (raw(tx("s-2")), "NOT_AUTHORIZED"),
        "malformed": (b'{"tx": {"ledger": ', "BAD_INPUT"),
        "truncated": (good(wl, "t-1", 100, ledger_id)[:-3].encode(), "BAD_INPUT"),
        "binary": (bytes(range(256)).replace(b"\n", b""), "BAD_INPUT"),
        "not-utf8": (b'{"tx": "\xff\xfe"}', "BAD_INPUT"),
        "a-json-array": (b"[1, 2, 3]", "BAD_INPUT"),
        "unknown-field": (raw({**tx("u-1"), "extra": 1}), "BAD_INPUT"),
        "deeply-nested": (b"[" * 100_000 + b"]" * 100_000, "BAD_INPUT"),
    }


BAD_LINE_NAMES = [
    "float-amount",
    "float-amount-with-fraction",
    "exponent-amount",
    "nan-amount",
    "string-amount",
    "boolean-amount",
    "negative-amount",
    "zero-amount",
    "amount-beyond-64-bits",
    "amount-of-4000-digits",
    "amount-of-5000-digits",
    "asset-differs-from-its-accounts",
    "unknown-asset",
    "unknown-account",
    "same-account-on-both-sides",
    "id-of-129-characters",
    "id-with-a-space",
    "id-with-a-slash",
    "id-with-unicode",
    "id-ending-in-a-newline",
    "unknown-signer",
    "unsigned",
    "malformed",
    "truncated",
    "binary",
    "not-utf8",
    "a-json-array",
    "unknown-field",
    "deeply-nested",
]


@pytest.mark.parametrize("name", BAD_LINE_NAMES)
def test_a_bad_line_is_refused_with_one_error_line_exit_1_and_changes_nothing(wl: Ledger, tmp_path: Path, name: str) -> None:
    line, code = _bad_lines(wl)[name]
    batch = write(tmp_path / "bad.jsonl", line)
    before = wl.state()
    run = wl("--json", "submit", str(batch))
    message = run.error(code, exit_code=1)
    assert message.startswith("line 1: ")
    assert run.json() == {"posted": 0, "duplicates": 0, "rejected": [{"line": 1, "code": code, "message": message[len("line 1: "):]}]}
    assert wl.state() == before
    assert wl("verify").exit_code == 0


def test_a_missing_file_exits_2_with_one_error_line(wl: Ledger, tmp_path: Path) -> None:
    before = wl.state()
    run = wl("submit", str(tmp_path / "nope.jsonl"))
    assert "nope.jsonl" in run.error("BAD_INPUT", exit_code=2)
    run = wl("--json", "submit", str(tmp_path / "nope.jsonl"))
    message = run.error("BAD_INPUT", exit_code=2)
    assert run.json() == {"error": {"code": "BAD_INPUT", "message": message}}
    assert wl.state() == before


def test_a_directory_instead_of_a_file_exits_2(wl: Ledger, tmp_path: Path) -> None:
    wl("submit", str(tmp_path)).error("BAD_INPUT", exit_code=2)


def test_a_line_whose_id_was_used_for_other_content_is_a_duplicate_conflict(wl: Ledger, tmp_path: Path) -> None:
    wl("transfer", ALICE, BANK, "5", "--id", "taken").ok()
    batch = write(tmp_path / "b.jsonl", good(wl, "taken", 6))
    before = wl.state()
    run = wl("--json", "submit", str(batch))
    run.error("DUPLICATE_CONFLICT", exit_code=1)
    assert wl.state() == before


def test_a_batch_that_is_all_duplicates_of_transfers_made_by_the_cli_exits_zero(wl: Ledger, tmp_path: Path) -> None:
    # The CLI and an outside signer agree on the bytes: the same tx, signed again, is the same transaction.
    wl("transfer", ALICE, BANK, "5", "--id", "same", "--memo", "m").ok()
    tx = wl.transfer_tx("same", ALICE, BANK, "dKRW.hanriver", 5, memo="m")
    run = wl("--json", "submit", "-", input=wl.sign(tx, ["alice"]) + "\n").ok()
    assert run.json() == {"posted": 0, "duplicates": 1, "rejected": []}


def test_a_hold_and_its_post_can_be_submitted_as_lines(wl: Ledger, tmp_path: Path) -> None:
    ledger_id = wl.id()
    hold = {**wl.transfer_tx("h-1", ALICE, RESERVE, "dKRW.hanriver", 1000, ledger_id=ledger_id), "kind": "hold", "timeout": 600}
    post = {**wl.transfer_tx("p-1", ALICE, RESERVE, "dKRW.hanriver", 400, ledger_id=ledger_id), "kind": "post", "ref": "h-1"}
    batch = write(tmp_path / "b.jsonl", wl.sign(hold, ["alice"]), wl.sign(post, ["alice"]))
    assert wl("--json", "submit", str(batch)).ok().json()["posted"] == 2
    b = wl.balances()
    assert (b[ALICE]["balance"], b[ALICE]["debits_pending"]) == (5_000_000 - 400, 0)
    assert wl.tx("h-1")["status"] == "posted"
