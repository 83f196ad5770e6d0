"""The floor `wonledger bench` measures `submit` against: a bare one-core script.

Run as its own process by path (``python bench_floor.py BATCH KEYS DB AT``),
so it imports nothing of wonledger and its start-up (Python, `rfc8785`,
`cryptography`, `sqlite3`) is timed as `submit`'s is. For every line it does
what any ledger of signed transfers must do and nothing more: parse the JSON,
take the transaction's RFC 8785 bytes with the `rfc8785` package, verify
each Ed25519 signature with `cryptography`, chain the SHA-256 hash as the
journal does (hash = SHA-256(previous hash's 32 bytes || RFC 8785 bytes of
{"at", "seq", "signatures", "tx"})), and write the journal, leg and balance
rows with `sqlite3` in one transaction. It checks no balance, account or
duplicate: it is a yardstick, not a ledger.

KEYS is a JSON object of signer to raw public key in hex; AT the one commit
time every row gets. It prints the number of rows written.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
import sys

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

#: Rows handed to sqlite3 per executemany (all inside the one transaction).
CHUNK = 1000


def main(batch: str, keys: str, db_path: str, at: str) -> int:
    with open(keys, encoding="utf-8") as f:
        verifiers = {signer: Ed25519PublicKey.from_public_bytes(bytes.fromhex(raw)) for signer, raw in json.load(f).items()}
    db = sqlite3.connect(db_path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(
        "CREATE TABLE journal (seq INTEGER PRIMARY KEY, id TEXT UNIQUE, kind TEXT, ref TEXT, at TEXT,"
        " body TEXT, signatures TEXT, digest TEXT, hash TEXT)"
    )
    db.execute("CREATE TABLE legs (seq INTEGER, idx INTEGER, debit TEXT, credit TEXT, asset TEXT, amount INTEGER, pending INTEGER, PRIMARY KEY (seq, idx))")
    db.execute("CREATE TABLE accounts (id TEXT PRIMARY KEY, balance INTEGER)")
    balances: dict[str, int] = {}
    at_bytes = rfc8785.dumps(at)
    written = 0
    prev = bytes(32)
    journal_rows: list[tuple] = []
    leg_rows: list[tuple] = []
    db.execute("BEGIN IMMEDIATE")
    with open(batch, "rb") as lines:
        for seq, line in enumerate(lines, 1):
            envelope = json.loads(line)
            tx, signatures = envelope["tx"], envelope["signatures"]
            body = rfc8785.dumps(tx)
            for sig in signatures:
                verifiers[sig["signer"]].verify(base64.urlsafe_b64decode(sig["sig"] + "=" * (-len(sig["sig"]) % 4)), body)
            # The tx's bytes spliced in: what rfc8785.dumps of the whole envelope gives, without encoding the tx twice.
            chained = b"".join((b'{"at":', at_bytes, b',"seq":', str(seq).encode(), b',"signatures":', rfc8785.dumps(signatures), b',"tx":', body, b"}"))
            prev = hashlib.sha256(prev + chained).digest()
            journal_rows.append(
                (seq, tx["id"], tx["kind"], None, at, body.decode(), json.dumps(signatures), hashlib.sha256(body).hexdigest(), prev.hex())
            )
            for idx, leg in enumerate(tx["legs"]):
                leg_rows.append((seq, idx, leg["debit"], leg["credit"], leg["asset"], leg["amount"], 0))
                balances[leg["debit"]] = balances.get(leg["debit"], 0) - leg["amount"]
                balances[leg["credit"]] = balances.get(leg["credit"], 0) + leg["amount"]
            if len(journal_rows) >= CHUNK:
                written += _write(db, journal_rows, leg_rows)
                journal_rows, leg_rows = [], []
    written += _write(db, journal_rows, leg_rows)
    db.executemany("INSERT INTO accounts VALUES (?,?)", list(balances.items()))
    db.execute("COMMIT")
    db.close()
    return written


def _write(db: sqlite3.Connection, journal_rows: list[tuple], leg_rows: list[tuple]) -> int:
    db.executemany("INSERT INTO journal VALUES (?,?,?,?,?,?,?,?,?)", journal_rows)
    db.executemany("INSERT INTO legs VALUES (?,?,?,?,?,?,?)", leg_rows)
    return len(journal_rows)


if __name__ == "__main__":
    print(main(*sys.argv[1:5]))
