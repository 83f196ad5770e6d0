"""`wonledger bench --figure verify`: `wonledger verify` as a user runs it, beside its floor.

Builds a throw-away ledger (the one ``wonledger bench`` builds, on SQLite or
on a PostgreSQL server), submits ``count`` signed transfers with `wonledger
submit` (not timed), then times, round after round, two whole processes:

* **the floor**: ``python verify_floor.py ROWS`` (run by path, importing
  nothing of wonledger), which parses every stored signature list and checks
  every signature against its signer's key on every core, and nothing else;
  ROWS holds the journal's bodies and signature lists as stored, written out
  before timing; and
* **verify**: ``wonledger verify``, which also decodes every body strictly,
  checks the hash chain, digests, legs and Merkle tree, replays every entry
  through the rulebook and compares every table.

Each side's best round is reported with every round, their CPU time (user
plus system, workers included) and the largest resident set of each.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path

from wonledger.store import Store, safe_url, throwaway_database
from wonledger.tools.bench import _compile_wonledger, _set_up, _sign_batch, check_server, measured, wonledger_script

#: The floor script, run by path so that it imports nothing of wonledger.
FLOOR_SCRIPT = Path(__file__).with_name("verify_floor.py")


@dataclass(frozen=True, slots=True)
class VerifyBench:
    count: int
    entries: int
    db: str
    rounds: int
    verify_s: float
    floor_s: float
    ratio: float
    verify_runs_s: tuple[float, ...]
    floor_runs_s: tuple[float, ...]
    verify_cpu_s: float
    floor_cpu_s: float
    cpu_ratio: float
    verify_us_per_entry: float
    verify_peak_rss_mib: float
    floor_peak_rss_mib: float
    #: verify's bound (see ``verify_bound.py``): the floor's CPU, plus every other check of each row and the
    #: rulebook's replay, each measured alone; verify's CPU against it
    checks_cpu_s: float
    replay_cpu_s: float
    bound_cpu_s: float
    bound_ratio: float
    verify_command: str = "wonledger verify (whole process)"
    floor_command: str = "python verify_floor.py (whole process: parse and check every signature on every core)"

    def to_json(self) -> dict[str, object]:
        out = asdict(self)
        out["verify_runs_s"] = list(self.verify_runs_s)
        out["floor_runs_s"] = list(self.floor_runs_s)
        return out


def run_verify(
    count: int, db: str | None = None, rounds: int = 2, workdir: str | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> VerifyBench:
    """Submit ``count`` signed transfers to a throw-away ledger, then time verify and its floor ``rounds`` times each."""
    tell = progress or (lambda _stage, _done, _total: None)
    check_server(db)
    with tempfile.TemporaryDirectory(prefix="wonledger-bench-", dir=workdir) as tmp, ExitStack() as scratch:
        base = Path(tmp)
        keys = base / "keys"
        ledger_id = f"wl-{secrets.token_hex(6)}"
        url = scratch.enter_context(throwaway_database(db)) if db else f"sqlite:///{base / 'verify.db'}"
        _compile_wonledger()
        _set_up(url, keys, ledger_id)
        from wonledger.domain.signing import KeyStore

        batch = base / "batch.jsonl"
        _sign_batch(batch, KeyStore(keys), ledger_id, count, lambda done: tell("signing", done, count))
        base_command = [str(wonledger_script()), "--db", url, "--keys", str(keys), "--json"]
        posted, _, _, _ = measured([*base_command, "submit", str(batch)], base)
        if posted.returncode != 0:
            raise RuntimeError(f"bench could not submit its batch: {posted.stderr.decode(errors='replace')[-400:]}")
        rows = base / "rows.jsonl"
        entries = _write_rows(url, rows)
        verify_runs, floor_runs, verify_cpu, floor_cpu, verify_rss, floor_rss = [], [], [], [], [], []
        for n in range(rounds):
            done, wall, cpu, rss = measured([sys.executable, "-P", str(FLOOR_SCRIPT), str(rows)], base)
            if done.returncode != 0 or int(done.stdout or 0) < entries:
                raise RuntimeError(f"the verify floor failed: {done.stderr.decode(errors='replace')[-400:]}")
            floor_runs.append(wall)
            floor_cpu.append(cpu)
            floor_rss.append(rss)
            tell("timing", 2 * n + 1, 2 * rounds)
            done, wall, cpu, rss = measured([*base_command, "verify"], base)
            report = json.loads(done.stdout or b"{}")
            if done.returncode != 0 or not report.get("ok") or report.get("transactions") != entries:
                raise RuntimeError(f"verify did not pass the bench ledger: {done.stdout[-400:]!r} {done.stderr[-400:]!r}")
            verify_runs.append(wall)
            verify_cpu.append(cpu)
            verify_rss.append(rss)
            tell("timing", 2 * n + 2, 2 * rounds)
        bound = _bound(url, base)
    verify_s, floor_s = min(verify_runs), min(floor_runs)
    bound_cpu = min(floor_cpu) + bound["checks_cpu_s"] + bound["replay_cpu_s"]
    return VerifyBench(
        count=count,
        entries=entries,
        db=safe_url(db) if db else "sqlite",
        rounds=rounds,
        verify_s=round(verify_s, 3),
        floor_s=round(floor_s, 3),
        ratio=round(verify_s / floor_s, 2),
        verify_runs_s=tuple(round(s, 3) for s in verify_runs),
        floor_runs_s=tuple(round(s, 3) for s in floor_runs),
        verify_cpu_s=round(min(verify_cpu), 3),
        floor_cpu_s=round(min(floor_cpu), 3),
        cpu_ratio=round(min(verify_cpu) / min(floor_cpu), 2),
        verify_us_per_entry=round(verify_s / entries * 1e6, 1),
        verify_peak_rss_mib=round(max(verify_rss), 1),
        floor_peak_rss_mib=round(max(floor_rss), 1),
        checks_cpu_s=bound["checks_cpu_s"],
        replay_cpu_s=bound["replay_cpu_s"],
        bound_cpu_s=round(bound_cpu, 3),
        bound_ratio=round(min(verify_cpu) / bound_cpu, 2),
    )


def _bound(url: str, base: Path) -> dict[str, float]:
    """The CPU seconds of verify's checks but the signatures, and of the rulebook's replay, each alone (a process of its own)."""
    done = subprocess.run([sys.executable, "-m", "wonledger.tools.verify_bound", url], cwd=base, capture_output=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the verify bound failed: {done.stderr.decode(errors='replace')[-400:]}")
    found = json.loads(done.stdout)
    return {"checks_cpu_s": float(found["checks_cpu_s"]), "replay_cpu_s": float(found["replay_cpu_s"])}


def _write_rows(url: str, path: Path) -> int:
    """The journal's bodies and signature lists as stored, with each signer's key, for the floor; how many entries."""
    store = Store.open(url)
    try:
        keys = {k.participant: k.public_key.hex() for k in store.reading(lambda uow: uow.registry.key_history()) if k.retired_at is None}
        entries = 0
        with path.open("w") as out:
            for page in store.journal_pages():
                for row in page.rows:
                    body, signatures = row[5], row[6]
                    signers = {s["signer"]: keys[s["signer"]] for s in json.loads(signatures)}
                    out.write(json.dumps([body, signatures, signers]) + "\n")
                    entries += 1
    finally:
        store.dispose()
    return entries
