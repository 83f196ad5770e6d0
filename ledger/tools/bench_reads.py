"""`wonledger bench --figure startup|ledger-cli`: what reading commands cost, beside their floors.

* **startup**: ``wonledger balance ACCOUNT`` against bare Python importing
  what it needs (``python -c "import sqlalchemy, click, cryptography"``), and
  ``wonledger --help`` against ``python -c "import click"``: whole processes
  run alternately, medians of wall clock and of CPU time, and (where valgrind
  is installed) the instructions each executes under callgrind, which do not
  depend on what else the machine runs.
* **ledger-cli**: ``wonledger balance`` of every account of a ledger with
  1,000 funded payers (1,020 accounts with the default world's) after
  ``count`` transfers, against ``ledger -f J balance`` reading the same
  entries written as a ledger-cli journal (``apt-get install ledger``).
* (the batch ``--figure scale`` signs: transfers all to one account, :func:`_sign_to_one`)

wonledger's modules are compiled to bytecode first, as ``pip install`` leaves them.
"""

from __future__ import annotations

import json
import random
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from wonledger.tools.bench import ASSET, FUNDING, _compile_wonledger, measured, wonledger_script

#: Payers of the ledger-cli comparison: with the default world's accounts, 1,020 accounts.
LEDGER_CLI_PAYERS = 1000
Progress = Callable[[str, int, int], None]


def run_startup(runs: int = 20, workdir: str | None = None, instructions: bool = True) -> dict[str, object]:
    """``balance`` and ``--help`` against the bare imports they need, as medians of ``runs`` alternating runs each."""
    wonledger = str(wonledger_script())
    with tempfile.TemporaryDirectory(prefix="wonledger-bench-", dir=workdir) as tmp:
        subprocess.run([wonledger, "init"], cwd=tmp, capture_output=True, check=True)
        _compile_wonledger()
        pairs = {
            "balance": ([wonledger, "balance", "alice:dKRW.hanriver"], [sys.executable, "-c", "import sqlalchemy, click, cryptography"]),
            "help": ([wonledger, "--help"], [sys.executable, "-c", "import click"]),
        }
        out: dict[str, object] = {"runs": runs}
        for name, (ours, floor) in pairs.items():
            out[name] = _compare(ours, floor, runs, Path(tmp), instructions)
    return out


def _compare(ours: list[str], floor: list[str], runs: int, cwd: Path, instructions: bool) -> dict[str, object]:
    for _ in range(3):  # the file cache warm for both
        measured(ours, cwd), measured(floor, cwd)
    a, b = [], []
    for _ in range(runs):
        a.append(_ok(measured(ours, cwd)))
        b.append(_ok(measured(floor, cwd)))
    wall = statistics.median(x[0] for x in a), statistics.median(x[0] for x in b)
    cpu = statistics.median(x[1] for x in a), statistics.median(x[1] for x in b)
    figure: dict[str, object] = {
        "command": _shown(ours),
        "floor_command": _shown(floor),
        "wall_ms": round(wall[0] * 1000, 1), "floor_wall_ms": round(wall[1] * 1000, 1), "wall_ratio": round(wall[0] / wall[1], 3),
        "cpu_ms": round(cpu[0] * 1000, 1), "floor_cpu_ms": round(cpu[1] * 1000, 1), "cpu_ratio": round(cpu[0] / cpu[1], 3),
    }
    if instructions and shutil.which("valgrind"):
        mine, bare = _instructions(ours, cwd), _instructions(floor, cwd)
        figure.update(instructions_m=round(mine / 1e6, 1), floor_instructions_m=round(bare / 1e6, 1), instructions_ratio=round(mine / bare, 3))
    return figure


def _shown(argv: list[str]) -> str:
    """A command as a person would type it: the program by name, temporary paths as DIR."""
    name = "python" if argv[0] == sys.executable else Path(argv[0]).name
    return " ".join([name, *(f'"{a}"' if " " in a else a for a in argv[1:])])


def _ok(result: tuple[subprocess.CompletedProcess[bytes], float, float, float]) -> tuple[float, float]:
    done, wall, cpu, _ = result
    if done.returncode != 0:
        raise RuntimeError(f"{done.args} exited {done.returncode}: {done.stderr.decode(errors='replace')[-300:]}")
    return wall, cpu


def _instructions(argv: list[str], cwd: Path) -> int:
    """Instructions one whole process executes (valgrind's callgrind; the same whatever else the machine runs)."""
    done = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *argv], cwd=cwd, capture_output=True, text=True)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"{argv} under valgrind: exit {done.returncode}, {done.stderr[-300:]}")
    return int(found.group(1))


def run_ledger_cli(count: int = 20_000, runs: int = 10, workdir: str | None = None, progress: Progress | None = None) -> dict[str, object]:
    """``wonledger balance`` of every account against ``ledger -f J balance`` over the same entries."""
    ledger_cli = shutil.which("ledger")
    if ledger_cli is None:
        raise RuntimeError("the ledger-cli figure needs ledger-cli on the PATH (Debian: apt-get install ledger)")
    tell = progress or (lambda _stage, _done, _total: None)
    with tempfile.TemporaryDirectory(prefix="wonledger-bench-", dir=workdir) as tmp:
        base = Path(tmp)
        url, keys = f"sqlite:///{base / 'accounts.db'}", base / "keys"
        payers = [f"payer-{n:04d}" for n in range(LEDGER_CLI_PAYERS)]
        moves = _fill(url, keys, payers, count, tell)
        journal = base / "journal.ledger"
        _write_ledger_cli(journal, moves)
        _compile_wonledger()
        ours = [str(wonledger_script()), "--db", url, "--keys", str(keys), "balance"]
        theirs = [ledger_cli, "-f", str(journal), "balance"]
        listed = measured([*ours[:-1], "--json", "balance"], base)
        _ok(listed)
        accounts = len(json.loads(listed[0].stdout)["accounts"])
        figure = _compare(ours, theirs, runs, base, instructions=shutil.which("valgrind") is not None)
    figure.update(
        accounts=accounts, entries=len(moves), command=f"wonledger balance ({accounts:,} accounts)",
        floor_command=f"ledger -f J balance (the same {len(moves):,} entries)",
    )
    return figure


def _fill(url: str, keys: Path, payers: list[str], count: int, tell: Progress) -> list[tuple[str, str, str, int]]:
    """A ledger of funded ``payers`` and ``count`` transfers among them; every entry that moved money, as (id, debit, credit, amount)."""
    from wonledger.domain.model import account_id
    from wonledger.flows import transfer_tx
    from wonledger.service.facade import Ledger

    rng = random.Random(20261207)
    moves: list[tuple[str, str, str, int]] = []
    with Ledger.create(url, keys, ledger_id=f"wl-{secrets.token_hex(6)}") as ledger:
        for p in payers:
            ledger.registry.add_participant(p, "individual", "KR")
            ledger.registry.open_account(p, ASSET)
        issuer = f"hanriver:{ASSET}"
        funding = [ledger.sign(transfer_tx(ledger.id, issuer, account_id(p, ASSET), ASSET, FUNDING, kind="deposit", tx_id=f"fund-{p}")) for p in payers]
        ledger.submit_many(funding)
        moves.extend((f"fund-{p}", issuer, account_id(p, ASSET), FUNDING) for p in payers)
        for start in range(0, count, 1000):
            chunk = []
            for n in range(start, min(count, start + 1000)):
                payer, payee = rng.sample(payers, 2)
                move = (f"t-{n:08d}", account_id(payer, ASSET), account_id(payee, ASSET), rng.randint(1, 10_000))
                chunk.append(ledger.sign(transfer_tx(ledger.id, move[1], move[2], ASSET, move[3], tx_id=move[0])))
                moves.append(move)
            ledger.submit_many(chunk)
            tell("filling", min(count, start + 1000), count)
    return moves


def _write_ledger_cli(path: Path, moves: list[tuple[str, str, str, int]]) -> None:
    """The same entries as a ledger-cli journal: one dated transaction of two postings each, amounts in minor units."""
    with path.open("w") as out:
        for tx_id, debit, credit, amount in moves:
            out.write(f'2026-12-07 * {tx_id}\n    {debit}  {-amount} "{ASSET}"\n    {credit}  {amount} "{ASSET}"\n\n')


def _sign_to_one(path: Path, keys: Path, ledger_id: str, count: int, tell: Progress) -> None:
    """``count`` signed transfers from the other payers, all to payer-000: its account gets ``count`` entries."""
    from wonledger.domain.model import account_id
    from wonledger.domain.signing import KeyStore, canonical_bytes
    from wonledger.flows import transfer_tx
    from wonledger.tools.bench import _payer_ids

    store, payers = KeyStore(keys), _payer_ids()[1:]
    rng = random.Random(20261207)
    with path.open("wb") as out:
        for n in range(count):
            payer = rng.choice(payers)
            tx = transfer_tx(ledger_id, account_id(payer, ASSET), account_id("payer-000", ASSET), ASSET, rng.randint(1, 100), tx_id=f"h-{n:08d}")
            wire = tx.to_wire()
            line = {"tx": wire, "signatures": [store.sign(payer, canonical_bytes(wire)).to_wire()]}
            out.write(json.dumps(line, separators=(",", ":")).encode() + b"\n")
            if (n + 1) % 1000 == 0 or n + 1 == count:
                tell("signing", n + 1, count)
