"""`wonledger bench`: signed batch ingest beside the floor of this machine.

Builds a throw-away ledger (the default world plus payers with funded
accounts), signs ``count`` transfers in the wire format, then times

* **ingest**: the real `submit` path (parse, every check of the book,
  signatures, hash chain, chunked writes), and
* **the floor**: a bare script over the same lines that only parses them,
  verifies the same Ed25519 signatures, chains the same SHA-256 hashes and
  writes the same rows with the sqlite3 module in one transaction.

The floor is a yardstick, not a ledger: it checks no balance, account or
duplicate. The ratio ingest/floor is what to compare across machines.
"""

from __future__ import annotations

import hashlib
import json
import platform
import random
import resource
import sqlite3
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from ledger.api import Ledger
from ledger.chain import envelope_bytes, iso, utc_now
from ledger.flows import transfer_tx
from ledger.model import account_id
from ledger.signing import canonical_bytes, public_key_from_bytes, unb64url

PAYERS = 64
FUNDING = 1_000_000_000


@dataclass(frozen=True, slots=True)
class BenchResult:
    count: int
    ingest_s: float
    floor_s: float
    ingest_per_s: int
    floor_per_s: int
    ratio: float
    peak_rss_mib: float
    platform: str
    cpus: int
    python: str

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def run(count: int, workdir: str | None = None) -> BenchResult:
    with tempfile.TemporaryDirectory(prefix="wonledger-bench-", dir=workdir) as tmp:
        base = Path(tmp)
        lines, payers = _signed_batch(base, count)
        ledger = Ledger.open(f"sqlite:///{base / 'bench.db'}", base / "keys")
        try:
            started = time.perf_counter()
            result = ledger.ingest(lines)
            ingest_s = time.perf_counter() - started
        finally:
            ledger.close()
        if result.posted != count:
            first = result.rejected[0] if result.rejected else None
            raise RuntimeError(f"bench batch did not post whole: {result.posted}/{count}, first refusal {first}")
        keys = {p: ledger.keys.load(p).public_key() for p in payers}
        started = time.perf_counter()
        _floor(base / "floor.db", lines, keys)
        floor_s = time.perf_counter() - started
    import os

    return BenchResult(
        count=count,
        ingest_s=round(ingest_s, 3),
        floor_s=round(floor_s, 3),
        ingest_per_s=round(count / ingest_s),
        floor_per_s=round(count / floor_s),
        ratio=round(ingest_s / floor_s, 2),
        peak_rss_mib=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        platform=platform.platform(),
        cpus=os.cpu_count() or 1,
        python=platform.python_version(),
    )


def _signed_batch(base: Path, count: int) -> tuple[list[bytes], list[str]]:
    """A ledger with funded payers, and ``count`` signed transfers between them."""
    ledger = Ledger.create(f"sqlite:///{base / 'bench.db'}", base / "keys")
    try:
        payers = [f"payer-{n:03d}" for n in range(PAYERS)]
        for p in payers:
            ledger.add_participant(p, "individual", "KR")
            ledger.open_account(p, "dKRW.hanriver")
        funding = [
            ledger.sign(transfer_tx(ledger.id, "hanriver:dKRW.hanriver", account_id(p, "dKRW.hanriver"), "dKRW.hanriver", FUNDING, kind="deposit"))
            for p in payers
        ]
        ledger.submit_many(funding)
        rng = random.Random(20261122)
        lines = []
        for n in range(count):
            payer, payee = rng.sample(payers, 2)
            tx = transfer_tx(
                ledger.id,
                account_id(payer, "dKRW.hanriver"),
                account_id(payee, "dKRW.hanriver"),
                "dKRW.hanriver",
                rng.randint(1, 10_000),
                tx_id=f"bench-{n:08d}",
                memo=f"invoice {n}",
            )
            signed = ledger.sign(tx, [payer])
            lines.append(json.dumps(signed.to_wire(), separators=(",", ":")).encode() + b"\n")
        return lines, payers
    finally:
        ledger.close()


def _floor(path: Path, lines: list[bytes], keys: dict) -> None:  # type: ignore[type-arg]
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(
        "CREATE TABLE journal (seq INTEGER PRIMARY KEY, id TEXT UNIQUE, kind TEXT, ref TEXT, at TEXT,"
        " body TEXT, signatures TEXT, digest TEXT, hash TEXT)"
    )
    db.execute("CREATE TABLE legs (seq INTEGER, idx INTEGER, debit TEXT, credit TEXT, asset TEXT, amount INTEGER, pending INTEGER, PRIMARY KEY (seq, idx))")
    db.execute("CREATE TABLE accounts (id TEXT PRIMARY KEY, balance INTEGER)")
    verifiers = {p: public_key_from_bytes(k.public_bytes_raw()) for p, k in keys.items()}
    prev = bytes(32)
    at = iso(utc_now())
    journal_rows, leg_rows, balances = [], [], {}
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
    db.execute("BEGIN IMMEDIATE")
    db.executemany("INSERT INTO journal VALUES (?,?,?,?,?,?,?,?,?)", journal_rows)
    db.executemany("INSERT INTO legs VALUES (?,?,?,?,?,?,?)", leg_rows)
    db.executemany("INSERT INTO accounts VALUES (?,?)", list(balances.items()))
    db.execute("COMMIT")
    db.close()
