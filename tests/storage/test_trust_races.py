"""Where we had not looked: two processes at once, on a SQLite file and on PostgreSQL.

- Two ``participant add`` of one id, each with a key of its own, racing in two
  processes: one is registered, the other refused (``ALREADY_EXISTS``, or
  ``DUPLICATE_CONFLICT`` when both read before either wrote), the
  registered key is the winner's, and ``verify`` holds.
- ``checkpoint`` while ``submit`` commits a batch: ``verify`` (which a
  checkpoint runs before it signs) reads one snapshot of the database, so
  each checkpoint is signed while the batch goes on, covers exactly what it
  checked, and a later ``verify --checkpoint`` of each holds. What this test
  found when it was written: without the snapshot, verify read the journal
  page after page in transactions of their own until no page came, so it
  chased the batch's commits to their end (no checkpoint could be taken
  during a batch: the first finished after it), and it read the tables at
  another moment than the journal it had replayed.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from wonledger import Ledger, Leg, Tx
from wonledger.domain.signing import KeyStore, b64url, public_bytes

pytestmark = pytest.mark.slow
#: Lines of the batch `submit` commits while checkpoints are taken (chunks of 1,000 commit one by one).
SIZE = 8_000


def test_two_registrations_of_one_id_racing_register_one_and_refuse_the_other(ledger: Ledger, start_wonledger, wonledger, tmp_path: Path) -> None:
    url = ledger._store.url
    for round_ in range(4):
        pid = f"racer-{round_}"
        dirs = []
        for side in ("a", "b"):
            keys = tmp_path / f"keys-{round_}-{side}"
            shutil.copytree(ledger._keys.directory, keys)
            dirs.append(keys)
        racing = [start_wonledger(url, "participant", "add", pid, "--kind", "corporate", "--jurisdiction", "KR", "--by", "hanriver", keys=d) for d in dirs]
        done = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in racing]
        assert sorted(code == 0 for code, _ in done) == [False, True], done
        winner = dirs[[code for code, _ in done].index(0)]
        # The loser read before the winner wrote (DUPLICATE_CONFLICT: its register:<id> entry differs) or after (ALREADY_EXISTS).
        loser_error = next(err for code, err in done if code != 0)
        assert "DUPLICATE_CONFLICT" in loser_error or "ALREADY_EXISTS" in loser_error, loser_error
        registered = next(p for p in ledger.registry.participants() if p.id == pid)
        assert registered.public_key == public_bytes(KeyStore(winner).load(pid))
    run = wonledger(url, "--json", "verify", keys=ledger._keys.directory)
    assert run.returncode == 0 and json.loads(run.stdout)["ok"], run.stdout


def test_checkpoints_taken_while_a_batch_commits_each_cover_exactly_what_they_checked(ledger: Ledger, start_wonledger, wonledger, raw, tmp_path: Path) -> None:
    url, keys = ledger._store.url, ledger._keys.directory
    assert wonledger(url, "checkpoint", keys=keys).returncode == 0  # the operator's first checkpoint, before the race
    start = ledger.info().transactions
    batch = tmp_path / "batch.jsonl"
    with batch.open("w") as out:
        for n in range(SIZE):
            tx = Tx(ledger=ledger.id, id=f"burn-{n}", kind="withdraw", legs=(Leg("alice:dKRW.hanriver", "hanriver:dKRW.hanriver", "dKRW.hanriver", 1),))
            out.write(json.dumps(ledger.sign(tx, ["alice"]).to_wire()) + "\n")
    submit = start_wonledger(url, "submit", str(batch), keys=keys)
    while submit.poll() is None and raw(ledger).scalar("SELECT seq FROM head") == start:
        time.sleep(0.05)  # the first chunk is in: checkpoints from now on race the next chunks' commits
    taken: list[tuple[Path, int]] = []
    while submit.poll() is None and len(taken) < 6:
        out = tmp_path / f"cp-{len(taken)}.json"
        run = wonledger(url, "--json", "checkpoint", "--out", str(out), keys=keys)
        assert run.returncode == 0, run.stderr  # a verify torn by the commits would refuse to sign (INTEGRITY)
        taken.append((out, json.loads(run.stdout)["seq"]))
        time.sleep(0.2)
    assert submit.wait(timeout=300) == 0
    end = ledger.info().transactions
    assert end == start + SIZE
    assert any(start < seq < end for _, seq in taken), f"no checkpoint fell inside the batch: {[s for _, s in taken]} of {start}..{end}"
    operator = b64url(public_bytes(ledger._keys.load_operator(ledger.id)))
    for cp, seq in taken:
        checked = wonledger(url, "--json", "verify", "--checkpoint", str(cp), "--operator-key", operator, keys=keys)
        assert checked.returncode == 0 and json.loads(checked.stdout)["ok"], (seq, checked.stdout)
