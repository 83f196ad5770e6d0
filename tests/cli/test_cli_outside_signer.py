"""An outside signer: a standalone script that knows only the README's "Signed transactions", not wonledger.

The script below uses `cryptography` and the standard library's `json` (its
RFC 8785 canonicalization is written by hand: enough for a transfer's
objects, strings and integers). It reads a participant's PEM key from the
key directory `init` made, signs a transfer for the ledger id that
`wonledger --json info` reports, and prints one wire-format line, which the
real `wonledger submit` must accept.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conftest import Ledger

ALICE = "alice:dKRW.hanriver"
BANK = "hanriver:dKRW.hanriver"

SIGNER = r'''
"""Sign one wonledger transfer. Usage: signer.py KEYS_DIR SPEC_JSON  (prints one wire-format line)."""
import base64
import json
import sys

from cryptography.hazmat.primitives.serialization import load_pem_private_key


def canonical(value):
    """RFC 8785 (JCS) for objects, arrays, strings and integers."""
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(canonical(k) + ":" + canonical(value[k]) for k in keys) + "}"
    if isinstance(value, list):
        return "[" + ",".join(canonical(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"cannot canonicalize {value!r}")


def main():
    keys_dir, spec = sys.argv[1], json.loads(sys.argv[2])
    tx = {
        "ledger": spec["ledger"],
        "id": spec["id"],
        "kind": "transfer",
        "memo": spec["memo"],
        "legs": [{"debit": spec["debit"], "credit": spec["credit"], "asset": spec["asset"], "amount": spec["amount"]}],
    }
    with open(f"{keys_dir}/{spec['signer']}.pem", "rb") as f:
        key = load_pem_private_key(f.read(), password=None)
    sig = base64.urlsafe_b64encode(key.sign(canonical(tx).encode("utf-8"))).rstrip(b"=").decode("ascii")
    line = json.dumps({"tx": tx, "signatures": [{"signer": spec["signer"], "sig": sig}]}, ensure_ascii=False)
    sys.stdout.buffer.write(line.encode("utf-8") + b"\n")


main()
'''


def outside_sign(tmp_path: Path, keys: Path, **spec: Any) -> str:
    script = tmp_path / "signer.py"
    script.write_text(SIGNER)
    done = subprocess.run(
        [sys.executable, "-I", str(script), str(keys), json.dumps(spec)], capture_output=True, check=True, timeout=60, cwd=tmp_path
    )
    return done.stdout.decode("utf-8").strip()


def spec(ledger_id: str, tx_id: str, signer: str = "alice", amount: int = 12_345, memo: str = "") -> dict[str, Any]:
    return {"ledger": ledger_id, "id": tx_id, "signer": signer, "debit": ALICE, "credit": BANK, "asset": "dKRW.hanriver", "amount": amount, "memo": memo}


def test_a_line_signed_by_an_outside_script_posts_and_the_ledger_verifies(sh: Ledger, tmp_path: Path) -> None:
    ledger_id = sh("--json", "info").ok().json()["ledger"]
    memo = 'invoice "7" — 송금 💸 \\ done; and a second clause'  # (no newline: control characters are refused)
    line = outside_sign(tmp_path, sh.keys, **spec(ledger_id, "outside-1", memo=memo))
    (sh.cwd / "outside.jsonl").write_text(line + "\n", encoding="utf-8")
    before = sh.balances()
    run = sh("--json", "submit", "outside.jsonl").ok()
    assert run.json() == {"posted": 1, "duplicates": 0, "rejected": []}
    shown = sh.tx("outside-1")
    assert (shown["memo"], shown["signers"], shown["status"]) == (memo, ["alice"], "posted")
    assert sh.balances()[ALICE]["balance"] == before[ALICE]["balance"] - 12_345
    assert sh("verify").ok().stdout.startswith("ok: 45 transactions")
    assert sh("--json", "submit", "outside.jsonl").ok().json()["duplicates"] == 1


def _tamper_legs(line: str) -> str:
    obj = json.loads(line)
    obj["tx"]["legs"][0]["amount"] += 1
    return json.dumps(obj, ensure_ascii=False)


def _retarget_credit(line: str) -> str:
    obj = json.loads(line)
    obj["tx"]["legs"][0]["credit"] = "kstable:dKRW.hanriver:reserve"
    return json.dumps(obj, ensure_ascii=False)


@pytest.mark.parametrize(
    ("case", "code"),
    [
        pytest.param("another-ledger", "BAD_SIGNATURE", id="signed-for-another-ledger-id"),
        pytest.param("amount-altered", "BAD_SIGNATURE", id="amount-altered-after-signing"),
        pytest.param("credit-altered", "BAD_SIGNATURE", id="credit-account-altered-after-signing"),
        pytest.param("not-the-debtor", "NOT_AUTHORIZED", id="signed-by-someone-who-is-not-the-debtor"),
    ],
)
def test_an_outside_line_that_is_not_the_debtors_signature_for_this_ledger_is_refused(
    sh: Ledger, tmp_path: Path, case: str, code: str
) -> None:
    ledger_id = sh.id()
    if case == "another-ledger":
        line = outside_sign(tmp_path, sh.keys, **spec("wl-000000000000", "x-1"))
    elif case == "not-the-debtor":
        line = outside_sign(tmp_path, sh.keys, **spec(ledger_id, "x-1", signer="seoul-exports"))
    else:
        signed = outside_sign(tmp_path, sh.keys, **spec(ledger_id, "x-1"))
        line = _tamper_legs(signed) if case == "amount-altered" else _retarget_credit(signed)
    before = sh.state()
    run = sh("--json", "submit", "-", input=line + "\n")
    message = run.error(code, exit_code=1)
    assert run.json() == {"posted": 0, "duplicates": 0, "rejected": [{"line": 1, "code": code, "message": message.removeprefix("line 1: ")}]}
    assert sh.state() == before
