"""Strict input through `wonledger submit` as a real process: each refused line is named, nothing changes.

Every line below is signed properly (by the debtor's PEM key, with
`rfc8785` and `cryptography`, not wonledger's code), so what refuses it is
the strict reading alone: a member named twice (Python's own `json` would
read the last and the signature would verify), a valid signature spelled
another way, an optional member given as null, a memo with a control or
bidi character. A batch mixing good and bad lines posts the good ones and
reports each bad one as `error: CODE: line N: ...`, exit 1.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Ledger

ALICE = "alice:dKRW.hanriver"
BANK = "hanriver:dKRW.hanriver"


def signed_line(sh: Ledger, tx_id: str, **changes: object) -> str:
    tx = sh.transfer_tx(tx_id, ALICE, BANK, "dKRW.hanriver", 1_000, memo="invoice 7") | changes
    return sh.sign(tx, ["alice"])


def respelled(line: str) -> str:
    """The same signature with the unused low bits of its last character set: the same bytes to a lax decoder."""
    obj = json.loads(line)
    sig = obj["signatures"][0]["sig"]
    obj["signatures"][0]["sig"] = sig[:-1] + chr(ord(sig[-1]) + 1)
    assert base64.urlsafe_b64decode(obj["signatures"][0]["sig"] + "==") == base64.urlsafe_b64decode(sig + "==")
    return json.dumps(obj, ensure_ascii=False)


def padded(line: str) -> str:
    obj = json.loads(line)
    obj["signatures"][0]["sig"] += "=="
    return json.dumps(obj, ensure_ascii=False)


CASES = {
    "duplicate-amount": (lambda sh: signed_line(sh, "d-1").replace('"amount": 1000', '"amount": 999999, "amount": 1000'), "BAD_INPUT", "'amount' appears twice"),
    "duplicate-signatures": (lambda sh: signed_line(sh, "d-2").replace('"signatures": [', '"signatures": [], "signatures": ['), "BAD_INPUT", "'signatures' appears twice"),
    "respelled-signature": (lambda sh: respelled(signed_line(sh, "d-3")), "BAD_SIGNATURE", "not canonical base64url"),
    "padded-signature": (lambda sh: padded(signed_line(sh, "d-4")), "BAD_SIGNATURE", "no padding"),
    "null-memo": (lambda sh: signed_line(sh, "d-5", memo=None), "BAD_INPUT", "'memo' is null"),
    "null-ref": (lambda sh: signed_line(sh, "d-6", ref=None), "BAD_INPUT", "'ref' is null"),
    "newline-in-memo": (lambda sh: signed_line(sh, "d-7", memo="invoice\n7"), "BAD_INPUT", "U+000A"),
    "right-to-left-override-in-memo": (lambda sh: signed_line(sh, "d-8", memo="invoice 7\u202egpj.exe"), "BAD_INPUT", "U+202E"),
    "c1-control-in-memo": (lambda sh: signed_line(sh, "d-9", memo="invoice \x9b7"), "BAD_INPUT", "U+009B"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_line_that_is_not_strictly_the_format_is_refused_and_changes_nothing(sh: Ledger, case: str) -> None:
    make, code, words = CASES[case]
    line = make(sh)
    before = sh.state()
    run = sh("submit", "-", input=line + "\n")
    message = run.error(code, exit_code=1)
    assert message.startswith("line 1: ") and words in message, message
    assert sh.state() == before


def test_a_batch_posts_its_good_lines_and_names_each_refused_one(sh: Ledger, tmp_path: Path) -> None:
    lines = [
        signed_line(sh, "ok-1"),
        CASES["duplicate-amount"][0](sh),
        signed_line(sh, "ok-2", memo="송금 💸 \"7\" \\ done"),
        CASES["right-to-left-override-in-memo"][0](sh),
    ]
    (sh.cwd / "batch.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    run = sh("--json", "submit", "batch.jsonl")
    assert run.exit_code == 1
    assert [ln.split(": ", 3)[:3] for ln in run.stderr.splitlines()] == [["error", "BAD_INPUT", "line 2"], ["error", "BAD_INPUT", "line 4"]]
    assert run.json()["posted"] == 2 and [r["line"] for r in run.json()["rejected"]] == [2, 4]
    assert sh.tx("ok-2")["memo"] == "송금 💸 \"7\" \\ done"
    assert sh("verify").ok()


def test_a_proof_file_with_a_member_named_twice_is_refused(sh: Ledger) -> None:
    sh("transfer", ALICE, BANK, "1000", "--id", "p-1").ok()
    sh("checkpoint").ok()
    sh("proof", "p-1", "--out", "p-1.json").ok()
    text = (sh.cwd / "p-1.json").read_text()
    (sh.cwd / "dup.json").write_text(text.replace('"format":', '"format": "x", "format":', 1))
    message = sh("verify-proof", "dup.json").error("BAD_STATEMENT", exit_code=2)
    assert "'format'" in message
