"""Ed25519 verification on every core: the pool the book and `verify` check signatures in.

Verifying one Ed25519 signature takes about 120 µs here and `cryptography`
holds the GIL while it does, so threads gain nothing: the work goes to a
pool of processes, one per core, while the calling process goes on parsing
and writing. What a worker is given is only ``(public key, payload,
signature)`` triples and what it answers is one yes or no per triple: which
key belongs to which signer, and what a "no" means, stays with the caller
(the book looks keys up in the ledger itself, so a worker cannot choose
which key a signature is checked against).

Small batches are checked in the calling process: starting workers costs more
than a handful of signatures, and a single `transfer` must stay quick.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

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


def check_all(checks: Sequence[Check]) -> bytes:
    """One byte per check, 1 where the signature verifies under the key; runs in a worker or here."""
    keys: dict[bytes, Ed25519PublicKey | None] = {}
    verdicts = bytearray(len(checks))
    for n, (raw_key, payload, sig) in enumerate(checks):
        key = keys.get(raw_key)
        if key is None:
            try:
                key = keys[raw_key] = Ed25519PublicKey.from_public_bytes(raw_key)
            except ValueError:  # not a key at all (a damaged registry): nothing verifies under it
                key = keys[raw_key] = None
        if key is None or len(sig) != 64:
            continue
        try:
            key.verify(sig, payload)
        except InvalidSignature:
            continue
        verdicts[n] = 1
    return bytes(verdicts)


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


class Verifier:
    """A lazily started pool of processes checking Ed25519 signatures."""

    def __init__(self, workers: int | None = None, threshold: int = POOL_THRESHOLD) -> None:
        self.workers = workers or usable_cpus()
        self.threshold = threshold
        self._pool: ProcessPoolExecutor | None = None
        self._pid = os.getpid()

    def submit(self, checks: Sequence[Check]) -> Verdicts:
        """Start checking; the answers come from :meth:`Verdicts.result`, in order."""
        if len(checks) < self.threshold or self.workers < 2:
            return Verdicts(done=check_all(checks))
        pool = self._executor()
        size = min(TASK_SIZE, -(-len(checks) // self.workers))
        return Verdicts([pool.submit(check_all, checks[i : i + size]) for i in range(0, len(checks), size)])

    @property
    def started(self) -> bool:
        """Whether worker processes are running (a large batch has been checked)."""
        return self._pool is not None

    def check(self, checks: Sequence[Check]) -> bytes:
        return self.submit(checks).result()

    def close(self) -> None:
        if self._pool is not None and self._pid == os.getpid():
            self._pool.shutdown(wait=True, cancel_futures=True)
        self._pool = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None or self._pid != os.getpid():
            # Imported here: a command that checks a signature or two never pays for them.
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            # fork: workers start in milliseconds and need nothing but `cryptography`,
            # already imported; they never touch the parent's database connections.
            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context("fork" if "fork" in methods else None)
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=context, initializer=_die_with_parent, initargs=(os.getpid(),)
            )
            self._pid = os.getpid()
        return self._pool


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
