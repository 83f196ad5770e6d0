"""`wonledger bench --figure scale`: the same work at 10,000 or 1,000,000 entries, on SQLite and on PostgreSQL.

Signs ``count`` transfers once, from the bench's payers all to one of them
(so that account has ``count`` entries), then for each database (a
throw-away SQLite file, and with ``--db`` a throw-away database on that
PostgreSQL server) times whole processes one after the other:
``wonledger submit`` of the batch, ``wonledger verify``, ``wonledger
history`` of the long account and ``wonledger statement`` of it as CSV.
Each gives wall-clock and CPU seconds (workers included), microseconds per
entry and the largest resident set, so what grows with the journal shows.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from wonledger.store import safe_url, throwaway_database
from wonledger.tools.bench import ASSET, _compile_wonledger, _set_up, check_server, measured, wonledger_script
from wonledger.tools.bench_reads import _sign_to_one

Progress = Callable[[str, int, int], None]


def run_scale(count: int, db: str | None = None, workdir: str | None = None, progress: Progress | None = None) -> dict[str, object]:
    """Submit, verify, history and statement over ``count`` entries on SQLite (and on ``db``'s server)."""
    check_server(db)
    tell = progress or (lambda _stage, _done, _total: None)
    out: dict[str, object] = {"count": count, "account": f"payer-000:{ASSET}"}
    with tempfile.TemporaryDirectory(prefix="wonledger-bench-", dir=workdir) as tmp:
        base = Path(tmp)
        keys, ledger_id, batch = base / "keys", f"wl-{secrets.token_hex(6)}", base / "batch.jsonl"
        _compile_wonledger()
        _set_up(f"sqlite:///{base / 'keys-only.db'}", keys, ledger_id)  # makes the payers' keys
        _sign_to_one(batch, keys, ledger_id, count, tell)
        for name, server in (("sqlite", None), ("postgresql", db)):
            if name == "postgresql" and server is None:
                continue
            with ExitStack() as scratch:
                url = scratch.enter_context(throwaway_database(server)) if server else f"sqlite:///{base / 'scale.db'}"
                out[name] = _one_database(url, keys, ledger_id, batch, count, base)
                out[name]["db"] = safe_url(server) if server else "sqlite"  # type: ignore[index]
    return out


def _one_database(url: str, keys: Path, ledger_id: str, batch: Path, count: int, base: Path) -> dict[str, object]:
    _set_up(url, keys, ledger_id)
    command = [str(wonledger_script()), "--db", url, "--keys", str(keys)]
    account = f"payer-000:{ASSET}"
    figures: dict[str, object] = {}
    steps = (
        ("submit", ["--json", "submit", str(batch)]),
        ("verify", ["--json", "verify"]),
        ("history", ["history", account]),
        ("statement", ["statement", account, "--format", "csv", "--out", str(base / "statement.csv")]),
    )
    for step, argv in steps:
        done, wall, cpu, rss = measured([*command, *argv], base)
        if done.returncode != 0:
            raise RuntimeError(f"{step} failed (exit {done.returncode}): {done.stderr.decode(errors='replace')[-400:]}")
        if step == "submit" and json.loads(done.stdout)["posted"] != count:
            raise RuntimeError("the scale batch did not post whole")
        if step == "verify" and not json.loads(done.stdout)["ok"]:
            raise RuntimeError("verify found problems in the scale ledger")
        figure = {
            "wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "us_per_entry": round(wall / count * 1e6, 1),
            "per_s": round(count / wall), "peak_rss_mib": round(rss, 1), "load_average": round(os.getloadavg()[0], 2),
        }
        figures[step] = figure
        # Each step as it ends, on stderr: a run of an hour that is stopped keeps what it measured.
        print(json.dumps({"step": step, "db": url.partition(":")[0], **figure}), file=sys.stderr, flush=True)
    return figures
