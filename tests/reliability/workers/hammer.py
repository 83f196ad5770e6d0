"""One of several processes hammering a few hot accounts (a harness worker, not a test).

    python hammer.py URL KEYS WORKER OPS SEED GO ACCOUNTS...

Waits until the file GO exists, then makes OPS random requests, each through
the ledger's one submit path: transfers between the hot ACCOUNTS (half),
holds (a quarter), and posts (full or partial) and voids of its own pending
holds. A refusal by a ledger rule (funds, a hold already finished) is an
answer, counted by code; anything else, a lock error or a crash, is trouble
the test fails on. Prints one JSON line: worker, ops, elapsed seconds,
counts by outcome, the ids it got receipts for, and any trouble.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
import traceback
from collections import Counter


def main() -> None:
    url, keys, worker, ops, seed, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
    accounts = sys.argv[7:]
    from wonledger import Ledger, LedgerError, RuleRefusal

    rng = random.Random(seed * 1000 + worker)
    outcomes: Counter[str] = Counter()
    receipts: list[str] = []
    trouble: list[str] = []
    pending: list[tuple[str, int]] = []  # own holds still pending, with their amounts
    with Ledger.open(url, keys) as ledger:
        while not os.path.exists(go):
            time.sleep(0.002)
        started = time.monotonic()
        for n in range(ops):
            tx_id = f"w{worker}-{n}"
            roll = rng.random()
            try:
                if roll < 0.15 and pending:
                    hold, held = pending.pop(rng.randrange(len(pending)))
                    receipt = ledger.holds.post(hold, rng.choice([None, rng.randint(1, held)]), tx_id=tx_id)
                    kind = "post"
                elif roll < 0.25 and pending:
                    receipt = ledger.holds.void(pending.pop(rng.randrange(len(pending)))[0], tx_id=tx_id)
                    kind = "void"
                else:
                    debit, credit = rng.sample(accounts, 2)
                    amount = rng.randint(1, 60_000)
                    if roll < 0.5:
                        receipt = ledger.payments.transfer(debit, credit, amount, tx_id=tx_id, hold_timeout_s=3600)
                        pending.append((tx_id, amount))
                        kind = "hold"
                    else:
                        receipt = ledger.payments.transfer(debit, credit, amount, tx_id=tx_id)
                        kind = "transfer"
                receipts.append(receipt.id)
                outcomes[kind] += 1
            except RuleRefusal as exc:
                outcomes[exc.code] += 1
            except LedgerError as exc:
                trouble.append(f"{tx_id}: {exc.code}: {exc.message}")
            except Exception as exc:
                trouble.append(f"{tx_id}: CRASH {type(exc).__name__}: {exc} {traceback.format_exc(limit=3)}")
        elapsed = time.monotonic() - started
    print(json.dumps({"worker": worker, "ops": ops, "elapsed": elapsed, "outcomes": outcomes, "receipts": receipts, "trouble": trouble}), flush=True)


if __name__ == "__main__":
    main()
