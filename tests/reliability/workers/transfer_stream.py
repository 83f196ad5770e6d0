"""A stream of single payments, one after another, to be killed (a harness worker, not a test).

    python transfer_stream.py URL KEYS COUNT PREFIX [--cli]

Makes payments ``PREFIX0`` … ``PREFIX{COUNT-1}`` from alice: even ones are
one-leg transfers to her bank, odd ones three-leg payments to seoul-exports
at another bank (burn, settle in wKRW, issue). Each goes through the ledger's
one submit path as a request of its own, through the library, or with
``--cli`` as a separate `wonledger transfer`/`pay` command. After each is
acknowledged it prints its id, so the test knows what a kill must not lose.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

WONLEDGER = str(Path(sys.executable).with_name("wonledger"))


def main() -> None:
    url, keys, count, prefix = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    through_cli = "--cli" in sys.argv[5:]
    if through_cli:
        for n in range(count):
            kind = ["transfer", "alice", "hanriver:dKRW.hanriver"] if n % 2 == 0 else ["pay", "alice", "seoul-exports"]
            subprocess.run([WONLEDGER, "--db", url, "--keys", keys, *kind, "1", "--id", f"{prefix}{n}"], check=True, capture_output=True)
            print(f"{prefix}{n}", flush=True)
        return
    from wonledger import Ledger

    with Ledger.open(url, keys) as ledger:
        for n in range(count):
            if n % 2 == 0:
                ledger.payments.transfer("alice:dKRW.hanriver", "hanriver:dKRW.hanriver", 1, tx_id=f"{prefix}{n}")
            else:
                ledger.payments.pay("alice:dKRW.hanriver", "seoul-exports:dKRW.namsan", 1, tx_id=f"{prefix}{n}")
            print(f"{prefix}{n}", flush=True)


if __name__ == "__main__":
    main()
