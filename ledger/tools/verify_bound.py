"""What `verify` must spend beyond its signatures, measured: the bound `wonledger bench --figure verify` reports.

``python -m wonledger.tools.verify_bound URL`` reads the ledger's journal
and times, in CPU seconds of this one process, the two parts of verify's
work that its floor (the signatures alone, ``verify_floor.py``) does not do
and that verify cannot leave out:

* **checks**: every check verify's workers make of each row but the
  signatures: the body decoded strictly and held to its canonical bytes, the
  hash-chain link, the digest, the stored legs against the body's, the
  Merkle leaf (:func:`wonledger.audit.entry_checks.check_page`, with each
  signature check answered without checking);
* **replay**: the rulebook deciding and applying every entry in journal
  order, on entries decoded beforehand, as the signers claim
  (:class:`wonledger.book.replay.Replay`): the one part that cannot be
  spread over cores, since each entry is judged on the state the ones
  before it left.

Floor + checks + replay is the least CPU time a verify that checks all of
it can take with this decoder and this rulebook; on two cores that are
otherwise idle, half of it is the least wall-clock time. It prints JSON.
"""

from __future__ import annotations

import json
import sys
import time
from collections import defaultdict

from wonledger.audit import entry_checks
from wonledger.audit.verify import VERIFY_PART
from wonledger.book.replay import Replay
from wonledger.domain.model import KeyRecord, StoredTx
from wonledger.store import GENESIS_HASH, JournalPage, Store


def measure(url: str) -> dict[str, object]:
    """The checks' and the replay's CPU seconds over the journal at ``url`` (see the module's docstring)."""
    store = Store.open(url)
    try:
        with store.snapshot():
            keys: dict[str, list[KeyRecord]] = defaultdict(list)
            for record in store.reading(lambda uow: uow.registry.key_history()):
                keys[record.participant].append(record)
            pages: list[JournalPage] = list(store.journal_pages())
            checks_s = _checks(pages, dict(keys))
            entries: list[StoredTx] = [entry for page in pages for entry, _legs in page.entries()]
            replay_s = _replay(Replay(store), entries)
    finally:
        store.dispose()
    return {"entries": len(entries), "checks_cpu_s": round(checks_s, 3), "replay_cpu_s": round(replay_s, 3)}


def _checks(pages: list[JournalPage], keys: dict[str, list[KeyRecord]]) -> float:
    shared = {entry_checks.KEY_HISTORY: keys}
    items, prev = [], GENESIS_HASH
    for page in pages:
        for part in page.split(VERIFY_PART):
            items.append((part, prev))
            prev = part.rows[-1][8]
    checking = entry_checks.verifies
    entry_checks.verifies = _taken_as_checked  # the floor's part, measured there
    try:
        started = time.process_time()
        for item in items:
            entry_checks.check_page(shared, [item])
        return time.process_time() - started
    finally:
        entry_checks.verifies = checking


def _taken_as_checked(raw_key: bytes, payload: bytes, sig: bytes) -> bool:
    return True


def _replay(replay: Replay, entries: list[StoredTx]) -> float:
    started = time.process_time()
    for entry in entries:
        assert entry.signed is not None, entry.problem
        replay.state.enforce_controls = entry.seq > replay.judged_after
        replay.apply(entry, replay.decide(entry, replay.claimed_signers(entry.signed, entry.at)))
    return time.process_time() - started


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1])))
