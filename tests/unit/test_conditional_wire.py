"""The wire form of conditional holds, fulfils and rejects: one-to-one, and strict about every member."""

from __future__ import annotations

import copy
import hashlib
from typing import Any

import pytest

from wonledger import BadInput
from wonledger.domain.wire import parse_tx, wire_bytes

CONDITION = hashlib.sha256(bytes(32)).hexdigest()
KEY = "A" * 43
HOLD: dict[str, Any] = {
    "ledger": "wl-kr", "id": "x-1", "kind": "hold",
    "legs": [{"debit": "alice:KRWS", "credit": "peakfx:KRWS", "asset": "KRWS", "amount": 1000}],
    "condition": {"sha256": CONDITION}, "deadline": "2026-11-22T09:30:00.000000Z", "partner": {"ledger": "wl-hk", "hold": "x-1-hk"},
    "travel": {
        "originator": {"id": "alice", "account": "alice:KRWS", "kind": "individual", "jurisdiction": "KR"},
        "beneficiary": {"id": "kowloon-supply", "account": "kowloon-supply:HKDS", "kind": "corporate", "jurisdiction": "HK",
                        "ledger": "wl-hk", "public_key": KEY},
    },
}
FULFIL: dict[str, Any] = {"ledger": "wl-kr", "id": "f-1", "kind": "fulfil", "ref": "x-1", "legs": HOLD["legs"], "preimage": "00" * 32}
REJECT: dict[str, Any] = {"ledger": "wl-kr", "id": "r-1", "kind": "reject", "ref": "x-1", "legs": []}


@pytest.mark.parametrize("wire", [HOLD, FULFIL, REJECT], ids=["hold", "fulfil", "reject"])
def test_a_conditional_hold_a_fulfil_and_a_reject_read_and_write_back_to_the_same_object(wire: dict[str, Any]) -> None:
    tx = parse_tx(copy.deepcopy(wire))
    assert tx.to_wire() == wire
    wire_bytes(tx)  # the bytes a Python-built one is signed as pass the same checks


def changed(base: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(base)
    target = out
    for key in path[:-1]:
        target = target[key]
    if value is _DROP:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return out


_DROP = object()


@pytest.mark.parametrize(
    ("wire", "match"),
    [
        (changed(HOLD, ("condition", "sha256"), CONDITION.upper()), "64 lowercase hex"),
        (changed(HOLD, ("condition", "sha256"), CONDITION[:-2]), "64 lowercase hex"),
        (changed(HOLD, ("condition",), CONDITION), "sha256"),
        (changed(HOLD, ("condition", "sha512"), CONDITION), "sha256"),
        (changed(HOLD, ("deadline",), "2026-02-30T09:30:00.000000Z"), "not a real moment"),
        (changed(HOLD, ("deadline",), "2026-11-22T09:30:00Z"), "UTC time like"),
        (changed(HOLD, ("deadline",), 1790000000), "UTC time like"),
        (changed(HOLD, ("timeout",), 60), "not both"),
        (changed(HOLD, ("partner",), _DROP), "'partner' is missing"),
        (changed(HOLD, ("condition",), _DROP), "'condition' is missing"),
        (changed(HOLD, ("partner", "ledger"), "wl-kr"), "another ledger"),
        (changed(HOLD, ("partner", "extra"), "x"), "exactly ledger and hold"),
        (changed(HOLD, ("travel", "beneficiary", "ledger"), "wl-elsewhere"), "not the partner ledger"),
        (changed(HOLD, ("travel", "beneficiary", "public_key"), _DROP), "exactly"),
        (changed(HOLD, ("travel", "originator", "ledger"), "wl-hk"), "exactly"),
        (changed(FULFIL, ("preimage",), "00" * 31), "64 lowercase hex"),
        (changed(FULFIL, ("preimage",), "AA" * 32), "64 lowercase hex"),
        (changed(FULFIL, ("preimage",), _DROP), "needs 'preimage'"),
        (changed(FULFIL, ("ref",), _DROP), "ref"),
        (changed(FULFIL, ("deadline",), "2026-11-22T09:30:00.000000Z"), "takes no 'deadline'"),
        (changed(REJECT, ("preimage",), "00" * 32), "takes no 'preimage'"),
        (changed(REJECT, ("legs",), HOLD["legs"]), "moves nothing itself"),
        (changed({**HOLD, "kind": "transfer"}, ("condition",), {"sha256": CONDITION}), "takes no 'condition'"),
        (changed({k: v for k, v in HOLD.items() if k not in ("condition", "deadline", "partner")}, ("timeout",), 60),
         "only on a conditional hold"),
    ],
)
def test_a_conditional_entry_that_is_not_exactly_the_format_is_refused(wire: dict[str, Any], match: str) -> None:
    with pytest.raises(BadInput, match=match):
        parse_tx(wire)
