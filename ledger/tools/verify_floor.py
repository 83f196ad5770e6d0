"""The floor `wonledger bench --figure verify` measures `verify` against: the signatures alone, on every core.

Run as its own process by path (``python -P verify_floor.py ROWS``), so it
imports nothing of wonledger and its start-up is timed as verify's is. ROWS
is a file of one JSON array per journal entry: ``[the signed body, the
stored signature list as text, {signer: public key in hex}]``. For every
entry it parses the signature list, decodes each signature from base64url
and checks it with `cryptography`'s Ed25519 against its signer's key, in a pool of one forked process per
core fed in chunks, as verify's own workers are. It checks nothing else: no
body, hash, digest, rule or table. It prints how many signatures held.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from multiprocessing import get_context

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

#: Signatures per task, as verify's workers take them.
CHUNK = 250


def check(checks: list[tuple[bytes, bytes, bytes]]) -> int:
    keys: dict[bytes, Ed25519PublicKey] = {}
    held = 0
    for raw_key, payload, sig in checks:
        key = keys.get(raw_key)
        if key is None:
            key = keys[raw_key] = Ed25519PublicKey.from_public_bytes(raw_key)
        try:
            key.verify(sig, payload)
        except InvalidSignature:
            continue
        held += 1
    return held


def tasks(path: str):
    chunk: list[tuple[bytes, bytes, bytes]] = []
    with open(path, "rb") as rows:
        for line in rows:
            body, signatures, keys = json.loads(line)
            payload = body.encode()
            for sig in json.loads(signatures):
                raw = base64.urlsafe_b64decode(sig["sig"] + "=" * (-len(sig["sig"]) % 4))
                chunk.append((bytes.fromhex(keys[sig["signer"]]), payload, raw))
            if len(chunk) >= CHUNK:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def main(path: str) -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    with get_context("fork").Pool(cores) as pool:
        return sum(pool.imap(check, tasks(path), chunksize=1))


if __name__ == "__main__":
    print(main(sys.argv[1]))
