"""A racing writer process for test_races.py (not a test module; run as a script).

    python race_worker.py

Reads jobs from stdin, one JSON object a line: ``{"id", "url", "lines", "go"}``.
For each job it opens the ledger at ``url``, prints ``{"id", "ready": true}``, waits until the
file ``go`` exists, then submits each signed transaction of the JSON-lines
file ``lines`` (already signed by the test) one at a time, as separate
requests, closes the ledger and prints ``{"id", "outcomes"}``, each outcome
``[line, outcome, seq, hash, message]`` where outcome is "posted",
"duplicate" or the error code. Anything that is not a LedgerError is
reported with outcome "CRASH" rather than raised. The process stays up for
the next job, so a race costs no interpreter start-up.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback


def run(job: dict[str, str]) -> list[list[object]]:
    from wonledger import Ledger, LedgerError, parse_line

    with open(job["lines"], encoding="utf-8") as f:
        batch = [parse_line(line) for line in f if line.strip()]
    ledger = Ledger.open(job["url"], os.devnull)  # the transactions come signed: no keys needed
    try:
        print(json.dumps({"id": job["id"], "ready": True}), flush=True)
        deadline = time.monotonic() + 60
        while not os.path.exists(job["go"]):
            if time.monotonic() > deadline:
                raise SystemExit("never told to go")
            time.sleep(0.001)
        outcomes: list[list[object]] = []
        for number, signed in enumerate(batch, 1):
            try:
                receipt = ledger.submit(signed)
                outcome = ["duplicate" if receipt.duplicate else "posted", receipt.seq, receipt.hash, ""]
            except LedgerError as exc:
                outcome = [exc.code, None, None, exc.message]
            except Exception as exc:
                outcome = ["CRASH", None, None, f"{type(exc).__name__}: {exc} {traceback.format_exc(limit=3)}"]
            outcomes.append([number, *outcome])
        return outcomes
    finally:
        ledger.close()


def main() -> None:
    import wonledger  # noqa: F401 - pay for the imports before the first race

    print(json.dumps({"started": True}), flush=True)
    for line in sys.stdin:
        if line.strip():
            job = json.loads(line)
            print(json.dumps({"id": job["id"], "outcomes": run(job)}), flush=True)


if __name__ == "__main__":
    main()
