"""`wonledger bench`: signed batch ingest beside the floor of this machine.

Builds a throw-away ledger (the default world plus payers with funded
accounts), signs ``count`` transfers in the wire format into a file, then
times, round after round,

* **the floor**: a bare script over the same lines that only parses them,
  verifies the same Ed25519 signatures, chains the same SHA-256 hashes and
  writes the same rows with the sqlite3 module in one transaction, on one
  core; and
* **ingest**: the real `submit` path over the same file (parse, every check
  of the book, signatures on every core, hash chain, chunked writes) into a
  fresh copy of the ledger: a SQLite file, or with ``db`` a throw-away
  database made on that PostgreSQL server and dropped afterwards.

The floor is a yardstick, not a ledger: it checks no balance, account or
duplicate. Each side's best round is reported (the least disturbed by other
work on the machine), with every round's time beside it; the ratio
ingest/floor is what to compare across machines. Both sides stream the file,
so memory stays flat however large the batch.
"""

from __future__ import annotations

import hashlib
import json
import platform
import random
import resource
import secrets
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path

from ledger.api import Ledger
from ledger.chain import envelope_bytes, iso, utc_now
from ledger.flows import transfer_tx
from ledger.model import account_id
from ledger.signing import KeyStore, canonical_bytes, public_key_from_bytes, public_bytes, unb64url
from ledger.store import postgres_server, safe_url, throwaway_database
from ledger.verifier import usable_cpus

PAYERS = 64
FUNDING = 1_000_000_000
ASSET = "dKRW.hanriver"
#: Rows the floor hands sqlite3 per executemany (all inside its one transaction).
FLOOR_CHUNK = 1000


@dataclass(frozen=True, slots=True)
class BenchResult:
    count: int
    db: str
    rounds: int
    ingest_s: float
    floor_s: float
    ingest_per_s: int
    floor_per_s: int
    ratio: float
    ingest_runs_s: tuple[float, ...]
    floor_runs_s: tuple[float, ...]
    peak_rss_mib: float
    platform: str
    cpus: int
    python: str

    def to_json(self) -> dict[str, object]:
        out = asdict(self)
        out["ingest_runs_s"] = list(self.ingest_runs_s)
        out["floor_runs_s"] = list(self.floor_runs_s)
        return out


def check_server(db: str | None) -> None:
    """Refuse at once a ``db`` that is not a PostgreSQL server bench may make a database on."""
    if db is not None:
        postgres_server(db)


def run(
    count: int, db: str | None = None, rounds: int = 2, workdir: str | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> BenchResult:
    """Sign ``count`` transfers and time ingest and the floor ``rounds`` times each.

    ``progress(stage, done, total)`` hears how far signing (``"signing"``, in
    transfers) and the timed rounds (``"timing"``, in runs of either side) have
    got; it is called between timed runs, never inside one.
    """
    tell = progress or (lambda _stage, _done, _total: None)
    check_server(db)
    with tempfile.TemporaryDirectory(prefix="wonledger-bench-", dir=workdir) as tmp, ExitStack() as scratch:
        base = Path(tmp)
        keys = base / "keys"
        ledger_id = f"wl-{secrets.token_hex(6)}"

        def fresh_ledger(n: int) -> str:
            url = scratch.enter_context(throwaway_database(db)) if db else f"sqlite:///{base / f'ingest-{n}.db'}"
            _set_up(url, keys, ledger_id)
            return url

        first = fresh_ledger(0)
        batch = base / "batch.jsonl"
        payers = _sign_batch(batch, KeyStore(keys), ledger_id, count, lambda done: tell("signing", done, count))
        public_keys = {p: public_bytes(KeyStore(keys).load(p)) for p in payers}
        ingest_runs, floor_runs = [], []
        for n in range(rounds):
            started = time.perf_counter()
            _floor(base / f"floor-{n}.db", batch, public_keys)
            floor_runs.append(time.perf_counter() - started)
            tell("timing", 2 * n + 1, 2 * rounds)
            url = first if n == 0 else fresh_ledger(n)
            ingest_runs.append(_ingest(url, keys, batch, count))
            tell("timing", 2 * n + 2, 2 * rounds)
        used = db or "sqlite"
    ingest_s, floor_s = min(ingest_runs), min(floor_runs)
    peak_kib = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return BenchResult(
        count=count,
        db=safe_url(used) if db else used,
        rounds=rounds,
        ingest_s=round(ingest_s, 3),
        floor_s=round(floor_s, 3),
        ingest_per_s=round(count / ingest_s),
        floor_per_s=round(count / floor_s),
        ratio=round(ingest_s / floor_s, 2),
        ingest_runs_s=tuple(round(s, 3) for s in ingest_runs),
        floor_runs_s=tuple(round(s, 3) for s in floor_runs),
        peak_rss_mib=round(peak_kib / 1024, 1),
        platform=platform.platform(),
        cpus=usable_cpus(),
        python=platform.python_version(),
    )


def _set_up(url: str, keys: Path, ledger_id: str) -> None:
    """The default world plus funded payers; the same ledger id and keys every time."""
    with Ledger.create(url, keys, ledger_id=ledger_id) as ledger:
        for p in _payer_ids():
            ledger.add_participant(p, "individual", "KR")
            ledger.open_account(p, ASSET)
        funding = [
            ledger.sign(transfer_tx(ledger.id, f"hanriver:{ASSET}", account_id(p, ASSET), ASSET, FUNDING, kind="deposit", tx_id=f"fund-{p}"))
            for p in _payer_ids()
        ]
        ledger.submit_many(funding)


def _payer_ids() -> list[str]:
    return [f"payer-{n:03d}" for n in range(PAYERS)]


def _sign_batch(path: Path, keys: KeyStore, ledger_id: str, count: int, signed: Callable[[int], None]) -> list[str]:
    """``count`` signed transfers between the payers, one JSON line each, written to ``path``."""
    payers = _payer_ids()
    rng = random.Random(20261122)
    with path.open("wb") as out:
        for n in range(count):
            payer, payee = rng.sample(payers, 2)
            tx = transfer_tx(
                ledger_id, account_id(payer, ASSET), account_id(payee, ASSET), ASSET, rng.randint(1, 10_000),
                tx_id=f"bench-{n:08d}", memo=f"invoice {n}",
            )
            wire = tx.to_wire()  # the one wire form: what it encodes is what is signed
            payload = canonical_bytes(wire)
            line = {"tx": wire, "signatures": [keys.sign(payer, payload).to_wire()]}
            out.write(json.dumps(line, separators=(",", ":")).encode() + b"\n")
            if (n + 1) % 1000 == 0 or n + 1 == count:
                signed(n + 1)
    return payers


def _ingest(url: str, keys: Path, batch: Path, count: int) -> float:
    with Ledger.open(url, keys) as ledger, batch.open("rb") as lines:
        started = time.perf_counter()
        result = ledger.ingest(lines)
        elapsed = time.perf_counter() - started
    if result.posted != count:
        first = result.rejected[0] if result.rejected else None
        raise RuntimeError(f"bench batch did not post whole: {result.posted}/{count}, first refusal {first}")
    return elapsed


def _floor(path: Path, batch: Path, public_keys: dict[str, bytes]) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(
        "CREATE TABLE journal (seq INTEGER PRIMARY KEY, id TEXT UNIQUE, kind TEXT, ref TEXT, at TEXT,"
        " body TEXT, signatures TEXT, digest TEXT, hash TEXT)"
    )
    db.execute("CREATE TABLE legs (seq INTEGER, idx INTEGER, debit TEXT, credit TEXT, asset TEXT, amount INTEGER, pending INTEGER, PRIMARY KEY (seq, idx))")
    db.execute("CREATE TABLE accounts (id TEXT PRIMARY KEY, balance INTEGER)")
    verifiers = {p: public_key_from_bytes(k) for p, k in public_keys.items()}
    balances: dict[str, int] = {}
    db.execute("BEGIN IMMEDIATE")
    with batch.open("rb") as lines:
        for journal_rows, leg_rows in _floor_rows(lines, verifiers, balances):
            db.executemany("INSERT INTO journal VALUES (?,?,?,?,?,?,?,?,?)", journal_rows)
            db.executemany("INSERT INTO legs VALUES (?,?,?,?,?,?,?)", leg_rows)
    db.executemany("INSERT INTO accounts VALUES (?,?)", list(balances.items()))
    db.execute("COMMIT")
    db.close()


def _floor_rows(lines, verifiers, balances) -> Iterator[tuple[list, list]]:  # type: ignore[no-untyped-def]
    prev = bytes(32)
    at = iso(utc_now())
    journal_rows: list[tuple] = []  # type: ignore[type-arg]
    leg_rows: list[tuple] = []  # type: ignore[type-arg]
    for seq, line in enumerate(lines, 1):
        envelope = json.loads(line)
        tx = envelope["tx"]
        body = canonical_bytes(tx)
        for sig in envelope["signatures"]:
            verifiers[sig["signer"]].verify(unb64url(sig["sig"]), body)
        signatures = envelope["signatures"]
        digest = hashlib.sha256(body).hexdigest()
        prev = hashlib.sha256(prev + envelope_bytes(seq, at, body, signatures)).digest()
        journal_rows.append((seq, tx["id"], tx["kind"], None, at, body.decode(), json.dumps(signatures), digest, prev.hex()))
        for idx, leg in enumerate(tx["legs"]):
            leg_rows.append((seq, idx, leg["debit"], leg["credit"], leg["asset"], leg["amount"], 0))
            balances[leg["debit"]] = balances.get(leg["debit"], 0) - leg["amount"]
            balances[leg["credit"]] = balances.get(leg["credit"], 0) + leg["amount"]
        if len(journal_rows) >= FLOOR_CHUNK:
            yield journal_rows, leg_rows
            journal_rows, leg_rows = [], []
    if journal_rows:
        yield journal_rows, leg_rows
