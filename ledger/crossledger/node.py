"""A ledger's node: the one process that writes to that ledger for a payment across two ledgers.

``python -m wonledger.crossledger.node --db URL --keys DIR --name kr`` reads
one JSON request per line on stdin (``{"op": ..., "args": {...}}``) and
writes one JSON answer per line on stdout (``{"ok": true, "result": ...}`` or
``{"ok": false, "error": {"code", "message"}}``), until stdin closes. Each
request is one command of the ledger's facade, so each write is one
transaction of this ledger's database alone: no process ever commits to both
ledgers. After a write commits and before it answers, the node calls the
crash point ``node-<name>-committed`` (:mod:`wonledger.crossledger.steps`):
the harness's way to lose an answer whose write landed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from wonledger.crossledger.steps import crash_point
from wonledger.domain.errors import BadInput, LedgerError
from wonledger.domain.records import Receipt
from wonledger.domain.timestamps import iso, utc_now
from wonledger.service.facade import Ledger

Handler = Callable[[Ledger, dict[str, Any]], Any]



def _receipt(receipt: Receipt) -> dict[str, Any]:
    return {"tx": receipt.id, "seq": receipt.seq, "at": receipt.at, "duplicate": receipt.duplicate}


def _info(ledger: Ledger, _args: dict[str, Any]) -> dict[str, Any]:
    return {"ledger": ledger.id, "operator_key": ledger.proofs.operator_key(), "now": iso(ledger.clock())}


def _participant(ledger: Ledger, args: dict[str, Any]) -> dict[str, Any]:
    from wonledger.domain.signing import b64url

    p = ledger.registry.participant(args["id"])
    return {"id": p.id, "kind": p.kind, "jurisdiction": p.jurisdiction, "public_key": b64url(p.public_key)}


def _asset(ledger: Ledger, args: dict[str, Any]) -> dict[str, Any]:
    for a in ledger.registry.assets():
        if a.code == args["code"]:
            return {"code": a.code, "currency": a.currency, "kind": a.kind, "exponent": a.exponent, "issuer": a.issuer}
    raise BadInput(f"no asset {args['code']} on ledger {ledger.id}")


def _card(ledger: Ledger, _args: dict[str, Any]) -> dict[str, object]:
    return ledger.partners.card().to_json()


def _partner(ledger: Ledger, args: dict[str, Any]) -> dict[str, object]:
    return ledger.partners.get(args["ledger"]).to_json()


def _quote(ledger: Ledger, args: dict[str, Any]) -> dict[str, Any]:
    """The dealer's firm quote selling ``amount`` of the partner ledger's asset ``sell`` for this ledger's ``buy``."""
    from wonledger.crossledger.quotes import dealer_quote

    return dealer_quote(ledger, args["sell"], args["buy"], int(args["amount"]))


def _hold(ledger: Ledger, args: dict[str, Any]) -> dict[str, Any]:
    from wonledger.domain.terms import QuoteTerms
    from wonledger.domain.wire import parse_travel

    quote = QuoteTerms(**args["quote"]) if args.get("quote") else None
    travel = parse_travel(args["travel"]) if args.get("travel") else None
    receipt = ledger.holds.make_conditional(
        args["source"],
        args["destination"],
        int(args["amount"]),
        condition=bytes.fromhex(args["condition"]),
        deadline=args["deadline"],
        partner_ledger=args["partner_ledger"],
        partner_hold=args["partner_hold"],
        quote=quote,
        travel=travel,
        tx_id=args["id"],
        memo=args.get("memo", ""),
    )
    return _receipt(receipt)


def _fulfil(ledger: Ledger, args: dict[str, Any]) -> dict[str, Any]:
    return _receipt(ledger.holds.fulfil(args["hold"], bytes.fromhex(args["preimage"]), tx_id=args["id"]))


def _reject(ledger: Ledger, args: dict[str, Any]) -> dict[str, Any]:
    return _receipt(ledger.holds.reject(args["hold"], tx_id=args["id"]))


def _status(ledger: Ledger, args: dict[str, Any]) -> dict[str, Any] | None:
    from wonledger.crossledger.views import conditional_json

    found = ledger.holds.conditional(args["hold"])
    return None if found is None else conditional_json(found)


def _expire_due(ledger: Ledger, _args: dict[str, Any]) -> int:
    return ledger.holds.expire_due()


def _entries(ledger: Ledger, args: dict[str, Any]) -> dict[str, Any]:
    """The conditional holds linked to ledger ``partner`` and the entries that ended them, as the journal holds them."""
    from wonledger.crossledger.views import linked_entries

    return linked_entries(ledger, args["partner"])


def _bundle(ledger: Ledger, args: dict[str, Any]) -> dict[str, Any]:
    from wonledger.crossledger.bundle import make_bundle

    return make_bundle(ledger, args["partner"])


def _verify(ledger: Ledger, _args: dict[str, Any]) -> dict[str, Any]:
    report = ledger.verify()
    return {"ok": report.ok, "problems": [str(p) for p in report.problems]}


OPS: dict[str, Handler] = {
    "info": _info,
    "participant": _participant,
    "asset": _asset,
    "card": _card,
    "partner": _partner,
    "quote": _quote,
    "hold": _hold,
    "fulfil": _fulfil,
    "reject": _reject,
    "status": _status,
    "expire_due": _expire_due,
    "entries": _entries,
    "bundle": _bundle,
    "verify": _verify,
}
#: The operations that write a step of the payment: after each commits, the node's crash point (not expire_due, which a
#: driver calls before every decision and which writes only what is due).
WRITES = frozenset({"hold", "fulfil", "reject"})


def answer(ledger: Ledger, name: str, line: str) -> dict[str, Any]:
    """One request line's answer (a write's crash point passed on the way)."""
    try:
        request = json.loads(line)
        op = request["op"]
        handler = OPS[op]
    except (ValueError, KeyError, TypeError):
        return {"ok": False, "error": {"code": "BAD_INPUT", "message": f"not a node request: {line[:200]!r}"}}
    try:
        result = handler(ledger, request.get("args") or {})
    except LedgerError as exc:
        return {"ok": False, "error": {"code": exc.code, "message": exc.message}}
    except (KeyError, TypeError, ValueError) as exc:
        return {"ok": False, "error": {"code": "BAD_INPUT", "message": f"{op}: {type(exc).__name__}: {exc}"}}
    except Exception as exc:  # a bug: the driver hears it as one, and the node goes on answering
        return {"ok": False, "error": {"code": "INTERNAL", "message": f"{op}: {type(exc).__name__}: {exc}"}}
    if op in WRITES:
        crash_point(f"node-{name}-committed")
    return {"ok": True, "result": result}


def serve(ledger: Ledger, name: str, stdin: Any = None, stdout: Any = None) -> None:
    reader, writer = stdin or sys.stdin, stdout or sys.stdout
    for line in reader:
        if not line.strip():
            continue
        writer.write(json.dumps(answer(ledger, name, line), sort_keys=True) + "\n")
        writer.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wonledger.crossledger.node", description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="the ledger's database URL")
    parser.add_argument("--keys", required=True, help="its key directory")
    parser.add_argument("--name", required=True, choices=("kr", "hk"), help="which side it is (names its crash point)")
    parser.add_argument("--wait-db", type=float, default=None, help="wait out an unavailable database this long (seconds)")
    args = parser.parse_args(argv)
    try:
        ledger = Ledger.open(args.db, args.keys, wait_db=args.wait_db)
    except LedgerError as exc:
        # The driver reads this first line as the node's refusal to start.
        sys.stdout.write(json.dumps({"ok": False, "error": {"code": exc.code, "message": exc.message}}) + "\n")
        return 1
    sys.stdout.write(json.dumps({"ok": True, "result": {"ledger": ledger.id, "started": iso(utc_now())}}) + "\n")
    sys.stdout.flush()
    try:
        serve(ledger, args.name)
    finally:
        ledger.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
