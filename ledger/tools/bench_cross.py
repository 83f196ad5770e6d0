"""`wonledger bench --figure cross-ledger`: a payment across two ledgers end to end, beside two plain transfers.

Makes a throw-away pair of ledgers, the Korean operator's and the Hong Kong
operator's worlds (``DIR/kr`` and ``DIR/hk``, SQLite, each with the other's
signed card), then, run after run, times two whole processes as a user runs
them, from launch to exit:

* **xsend**: ``wonledger xsend --kr kr --hk hk seoul-exports kowloon-supply
  1,000,000``: the driver and its journal, the two node processes it starts
  (one per ledger, each its own writer), the dealer's quote, the payer's
  conditional hold on Korea, the dealer's on Hong Kong, the receiver's
  fulfilment and the relay of the preimage. It must end ``settled``.
* **the floor**: two plain ``wonledger transfer`` commands, one per ledger,
  one after the other: the payer's KRWS to the dealer on Korea, the
  dealer's HKDS to the receiver on Hong Kong (the amount the quote gives),
  the same balances moved by the least the CLI does, one process and one
  commit each.

The two sides alternate, so both meet the same machine; each is reported
as the median and the 95th percentile (nearest rank) of its wall-clock
times, every run's time beside them, and the median CPU seconds (a process's
own and its children's: xsend's nodes). After the runs the two ledgers must
pass ``verify`` and the pair check, and every payment must have settled.
wonledger's modules are compiled to bytecode first, as ``pip install``
leaves them.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import tempfile
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

from wonledger.domain.money import format_amount
from wonledger.service.facade import Ledger
from wonledger.tools.bench import _compile_wonledger, measured, wonledger_script

Progress = Callable[[str, int, int], None]
PAYER, DEALER, RECEIVER = "seoul-exports", "peakfx", "kowloon-supply"
AMOUNT = "1,000,000"
HKDS_EXPONENT = 2


def run_cross_ledger(runs: int = 20, workdir: str | None = None, progress: Progress | None = None) -> dict[str, object]:
    """``runs`` payments by ``xsend`` and ``runs`` pairs of plain transfers, alternately, on a throw-away pair of ledgers."""
    if runs < 1:
        raise ValueError("runs must be at least 1")
    tell = progress or (lambda _stage, _done, _total: None)
    load_at_start = round(os.getloadavg()[0], 2)  # (the CLI adds the load at the end)
    with tempfile.TemporaryDirectory(prefix="wonledger-bench-", dir=workdir) as tmp:
        base = Path(tmp)
        _make_pair(base)
        _compile_wonledger()
        xsend = _xsend_command(base)
        # A first payment, outside the figures, warms the file cache and says what the quote gives the receiver.
        _, _, received = _xsend_once(xsend, base)
        floor = _floor_commands(base, received)
        _floor_once(floor, base)
        sent, floored, sent_cpu, floored_cpu = [], [], [], []
        for n in range(runs):
            wall, cpu = _floor_once(floor, base)
            floored.append(wall)
            floored_cpu.append(cpu)
            wall, cpu, _ = _xsend_once(xsend, base)
            sent.append(wall)
            sent_cpu.append(cpu)
            tell("timing", n + 1, runs)
        _check_pair(base)
    return {
        "measured": True,
        "runs": runs,
        "load_average_start": load_at_start,
        "db": "sqlite (two files)",
        "amount": f"{AMOUNT} KRWS → {received} HKDS",
        "xsend": _figures(sent, sent_cpu),
        "floor": _figures(floored, floored_cpu),
        "ratio_median": round(statistics.median(sent) / statistics.median(floored), 2),
        "ratio_p95": round(_p95(sent) / _p95(floored), 2),
        "payments_settled": runs + 1,
        "verified": True,
        "pair_ok": True,
        "xsend_command": f"wonledger xsend --kr DIR/kr --hk DIR/hk {PAYER} {RECEIVER} {AMOUNT} (whole process, its two nodes included)",
        "floor_command": "wonledger transfer on each ledger, one after the other (two whole processes)",
    }


def _make_pair(base: Path) -> None:
    """Both operators' ledgers, each knowing the other by its card, as ``init --world`` and ``partner add`` leave them."""
    for side in ("kr", "hk"):
        (base / side).mkdir()
    with Ledger.create(f"sqlite:///{base / 'kr' / 'wonledger.db'}", base / "kr" / "keys", world="kr") as kr, \
            Ledger.create(f"sqlite:///{base / 'hk' / 'wonledger.db'}", base / "hk" / "keys", world="hk") as hk:
        kr.partners.add(hk.partners.card())
        hk.partners.add(kr.partners.card())


def _xsend_command(base: Path) -> list[str]:
    return [
        str(wonledger_script()), "--json", "xsend", "--kr", str(base / "kr"), "--hk", str(base / "hk"), "--driver", str(base / "driver"),
        PAYER, RECEIVER, AMOUNT,
    ]


def _floor_commands(base: Path, received: str) -> list[list[str]]:
    script = str(wonledger_script())

    def on(side: str) -> list[str]:
        return [script, "--db", f"sqlite:///{base / side / 'wonledger.db'}", "--keys", str(base / side / "keys"), "--json"]

    return [
        [*on("kr"), "transfer", f"{PAYER}:KRWS", f"{DEALER}:KRWS", AMOUNT],
        [*on("hk"), "transfer", f"{DEALER}:HKDS", f"{RECEIVER}:HKDS", received],
    ]


def _xsend_once(command: list[str], cwd: Path) -> tuple[float, float, str]:
    """Wall and CPU seconds of one ``xsend``, which must settle, and the HKDS it paid the receiver (major units)."""
    done, wall, cpu, _ = measured(command, cwd)
    try:
        shown = json.loads(done.stdout)
    except ValueError:
        shown = {}
    if done.returncode != 0 or shown.get("outcome") != "settled":
        said = shown.get("detail") or done.stderr.decode(errors="replace")[-400:]
        raise RuntimeError(f"xsend did not settle (exit {done.returncode}, {shown.get('outcome')}): {said}")
    return wall, cpu, format_amount(int(shown["buy"][0]), HKDS_EXPONENT)


def _floor_once(commands: list[list[str]], cwd: Path) -> tuple[float, float]:
    wall = cpu = 0.0
    for command in commands:
        done, elapsed, used, _ = measured(command, cwd)
        if done.returncode != 0:
            raise RuntimeError(f"the floor's transfer failed (exit {done.returncode}): {done.stderr.decode(errors='replace')[-400:]}")
        wall, cpu = wall + elapsed, cpu + used
    return wall, cpu


def _check_pair(base: Path) -> None:
    """Each ledger's ``verify`` and ``verify-pair`` after the runs, as a user runs them (not timed): the figure counts only payments that held."""
    script = str(wonledger_script())
    for side in ("kr", "hk"):
        done, _, _, _ = measured([script, "--db", f"sqlite:///{base / side / 'wonledger.db'}", "--keys", str(base / side / "keys"), "verify"], base)
        if done.returncode != 0:
            raise RuntimeError(f"after the runs the {side} ledger does not verify: {done.stdout.decode(errors='replace')[-400:]}")
    done, _, _, _ = measured([script, "--json", "verify-pair", "--kr", str(base / "kr"), "--hk", str(base / "hk")], base)
    outcomes = json.loads(done.stdout).get("outcomes") if done.returncode == 0 else None
    if not outcomes or set(outcomes) != {"settled"}:
        raise RuntimeError(f"after the runs the pair check does not hold (exit {done.returncode}): {outcomes or done.stdout[-400:]!r}")


def _figures(walls: list[float], cpus: list[float]) -> dict[str, object]:
    return {
        "median_s": round(statistics.median(walls), 3),
        "p95_s": round(_p95(walls), 3),
        "min_s": round(min(walls), 3),
        "max_s": round(max(walls), 3),
        "cpu_median_s": round(statistics.median(cpus), 3),
        "runs_s": [round(w, 3) for w in walls],
    }


def _p95(values: list[float]) -> float:
    """The nearest-rank 95th percentile: an observed time, as the demo's are."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(len(ordered) * Fraction(95, 100))) - 1]


__all__ = ["run_cross_ledger"]
