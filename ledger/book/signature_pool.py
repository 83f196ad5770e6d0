"""Ed25519 verification on every core: the pool the book and `verify` check signatures in.

Verifying one Ed25519 signature takes about 120 µs here and `cryptography`
holds the GIL while it does, so threads gain nothing: the work goes to a
pool of processes, one per core, while the calling process goes on parsing
and writing. What a worker is given is only ``(public key, payload,
signature)`` triples and what it answers is one yes or no per triple: which
key belongs to which signer, and what a "no" means, stays with the caller
(the book looks keys up in the ledger itself, so a worker cannot choose
which key a signature is checked against).

The same workers run whole tasks for batch ingest and ``verify`` (see
:meth:`Verifier.map`): parsing lines or decoding journal rows along with
checking their signatures, so that the process that decides spends nothing
on parsing. Values such a task needs (the signers' keys) are shared once
with each worker (:meth:`Verifier.share`), never sent with every task.

Small batches are checked in the calling process: starting workers costs more
than a handful of signatures, and a single `transfer` must stay quick.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

T = TypeVar("T")
#: A check: the signer's registered public key (32 raw bytes), the signed bytes, the raw signature.
Check = tuple[bytes, bytes, bytes]

#: Below this many signatures a batch is checked in the calling process.
POOL_THRESHOLD = 128
#: Signatures per task sent to a worker: large enough that pickling is cheap beside
#: the arithmetic, small enough that both cores get work from one chunk.
TASK_SIZE = 250


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


#: In each process: the key objects made so far, by raw key (None: not a key at all, nothing verifies under it).
_public_keys: dict[bytes, Ed25519PublicKey | None] = {}


def verifies(raw_key: bytes, payload: bytes, sig: bytes) -> bool:
    """Whether ``sig`` (raw) is an Ed25519 signature of ``payload`` under ``raw_key``."""
    key = _public_keys.get(raw_key, False)
    if key is False:
        try:
            key = Ed25519PublicKey.from_public_bytes(raw_key)
        except ValueError:  # not a key at all (a damaged registry): nothing verifies under it
            key = None
        if len(_public_keys) > 100_000:
            _public_keys.clear()
        _public_keys[raw_key] = key
    if key is None or len(sig) != 64:
        return False
    try:
        key.verify(sig, payload)  # type: ignore[union-attr]
    except InvalidSignature:
        return False
    return True


def check_all(checks: Sequence[Check]) -> bytes:
    """One byte per check, 1 where the signature verifies under the key; runs in a worker or here."""
    return bytes(1 if verifies(raw_key, payload, sig) else 0 for raw_key, payload, sig in checks)


class Verdicts:
    """The answers to one batch of checks, which may still be being worked out."""

    __slots__ = ("_done", "_parts")

    def __init__(self, parts: list[Future[bytes]] | None = None, done: bytes | None = None) -> None:
        self._parts = parts or []
        self._done = done

    def result(self) -> bytes:
        if self._done is None:
            self._done = b"".join(part.result() for part in self._parts)
            self._parts = []
        return self._done


class Pending(Generic[T]):
    """The answers of tasks run on the pool (or already here), in the order they were given."""

    __slots__ = ("_done", "_parts")

    def __init__(self, parts: list[Future[list[T]]] | None = None, done: list[T] | None = None) -> None:
        self._parts = parts or []
        self._done = done

    def result(self) -> list[T]:
        if self._done is None:
            done: list[T] = []
            for part in self._parts:
                done.extend(part.result())
            self._done, self._parts = done, []
        return self._done


#: Values shared with the workers, by space (see :meth:`Verifier.share`): a space is a dict of names to values.
Shared = dict[str, dict[Any, Any]]
#: What a task run by :meth:`Verifier.map` is given: the shared values and its part of the items.
Task = Callable[[Shared, Sequence[Any]], list[T]]

#: In a worker process: the values its Verifier has shared with it so far.
_shared_in_worker: Shared = {}


def _take(shared: Shared, updates: Sequence[tuple[str, dict[Any, Any]]]) -> None:
    for space, values in updates:
        shared.setdefault(space, {}).update(values)


def _run_shared(task: Task[T], updates: list[tuple[str, dict[Any, Any]]], items: Sequence[Any]) -> list[T]:
    """Run in a worker: take in what the caller shared since the worker's last task, then run ``task``."""
    _take(_shared_in_worker, updates)
    return task(_shared_in_worker, items)


class Verifier:
    """A lazily started pool of processes checking Ed25519 signatures (and parsing what they sign).

    One single-process lane per core, each task given to the next lane in
    turn: a lane runs its tasks in order, so values the caller shares (a
    signer's key, say) reach each worker once, with the first task it runs
    after they were shared, and never have to be sent with every task.
    """

    def __init__(self, workers: int | None = None, threshold: int = POOL_THRESHOLD) -> None:
        self.workers = workers or usable_cpus()
        self.threshold = threshold
        self._lanes: list[ProcessPoolExecutor] = []
        self._pid = os.getpid()
        self._next = 0
        #: everything shared so far, in order, and how much of it each lane has been sent
        self._shared_log: list[tuple[str, dict[Any, Any]]] = []
        self._sent: list[int] = []
        #: what a task run here, in this process, reads (the same values the workers have)
        self._shared_here: Shared = {}
        self._lock = threading.Lock()

    def submit(self, checks: Sequence[Check]) -> Verdicts:
        """Start checking; the answers come from :meth:`Verdicts.result`, in order."""
        if len(checks) < self.threshold or self.workers < 2:
            return Verdicts(done=check_all(checks))
        size = min(TASK_SIZE, -(-len(checks) // self.workers))
        parts = []
        with self._lock:
            for i in range(0, len(checks), size):
                n = self._turn()
                parts.append(self._lanes[n].submit(check_all, checks[i : i + size]))
        return Verdicts(parts)

    def share(self, space: str, values: dict[Any, Any]) -> None:
        """Add ``values`` to what tasks see in ``shared[space]``, here and in every worker (sent with each lane's next task)."""
        if values:
            with self._lock:
                self._shared_log.append((space, dict(values)))
                _take(self._shared_here, [(space, values)])

    def shared(self, space: str) -> bool:
        """Whether anything was shared in ``space``."""
        return space in self._shared_here

    def map(self, task: Task[T], items: Sequence[Any], size: int = TASK_SIZE, units: int | None = None) -> Pending[T]:
        """Run ``task`` over ``items`` in parts of ``size`` on the workers; one answer list, in order.

        A batch of fewer than the threshold's ``units`` of work (by default, items) runs here.
        """
        if (len(items) if units is None else units) < self.threshold or self.workers < 2:
            return Pending(done=task(self._shared_here, items))
        parts = []
        with self._lock:  # (a book may be used from several threads: each lane gets every update once, in order)
            for i in range(0, len(items), size):
                n = self._turn()
                updates = self._shared_log[self._sent[n] :]
                self._sent[n] = len(self._shared_log)
                parts.append(self._lanes[n].submit(_run_shared, task, updates, items[i : i + size]))
        return Pending(parts)

    @property
    def started(self) -> bool:
        """Whether worker processes are running (a large batch has been checked)."""
        return bool(self._lanes)

    def check(self, checks: Sequence[Check]) -> bytes:
        return self.submit(checks).result()

    def close(self) -> None:
        if self._lanes and self._pid == os.getpid():
            for lane in self._lanes:
                lane.shutdown(wait=True, cancel_futures=True)
        self._lanes = []

    def _turn(self) -> int:
        """The index of the lane whose turn it is (starting the lanes on first use)."""
        if not self._lanes or self._pid != os.getpid():
            # Imported here: a command that checks a signature or two never pays for them.
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            # fork: workers start in milliseconds and need nothing but what is already
            # imported; they never touch the parent's database connections.
            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context("fork" if "fork" in methods else None)
            self._lanes = [
                ProcessPoolExecutor(max_workers=1, mp_context=context, initializer=_die_with_parent, initargs=(os.getpid(),))
                for _ in range(self.workers)
            ]
            self._sent = [0] * self.workers
            self._pid = os.getpid()
            self._next = 0
        turn = self._next
        self._next = (turn + 1) % len(self._lanes)
        return turn


def _die_with_parent(parent: int) -> None:
    """Run in each worker: end it once the process that started it is gone; leave Ctrl-C to the parent.

    A parent killed with SIGKILL (the crash tests do it) cannot stop its pool,
    and the workers would otherwise linger for good, orphaned.
    """
    import signal
    import threading
    import time

    # Ctrl-C at a terminal signals the whole foreground process group; the
    # parent alone handles it (and stops the pool), so a worker says nothing.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(0)

    threading.Thread(target=watch, daemon=True, name="die-with-parent").start()
