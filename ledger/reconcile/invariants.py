"""`verify`: everything the journal proves, checked against everything stored.

Replays the journal from the first entry, in bounded memory, and checks:
the hash chain and each entry's digest; that each body is canonical JSON of
a well-formed transaction for this ledger; that the stored legs are the
body's legs; every signature and that the right parties signed; then that
the counters and hold states the replay implies equal the stored ones, that
every asset sums to zero, that no protected account is overdrawn, and that
the chain head is the last entry, and that every stablecoin issuer's
reserve covers its supply; and that every signed checkpoint's Merkle root
is the journal's and its signature the registered operator key's. Each
problem names the transaction (or the account) it was found in.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from ledger import chain
from ledger.controls import ControlRows, ControlState, Controls, LegView, compare
from ledger.errors import LedgerError
from ledger.model import EXPIRE, HOLD, ISSUANCE, POST, RESERVE, VOID, Account, KeyRecord, Leg
from ledger.money import Asset
from ledger.policy import STABLECOIN, at_scale, load_flow_policy
from ledger.proofs import TreeBuilder, checkpoint_payload, leaf_hash
from ledger.signing import canonical_bytes, public_key_from_bytes, signature_holds, unb64url
from ledger.store import GENESIS_HASH, Store, StoredCheckpoint, StoredEntry
from ledger.verifier import Check, Verdicts, Verifier
from ledger.wire import parse_tx


@dataclass(frozen=True, slots=True)
class Problem:
    tx: str | None
    kind: str
    detail: str

    def to_json(self) -> dict[str, object]:
        return {"tx": self.tx, "kind": self.kind, "detail": self.detail}


@dataclass(slots=True)
class VerifyReport:
    transactions: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, object]:
        return {"ok": self.ok, "transactions": self.transactions, "problems": [p.to_json() for p in self.problems]}


@dataclass(slots=True)
class _Hold:
    legs: tuple[Leg, ...]
    expires_at: str
    status: str = "pending"


def verify_ledger(store: Store, progress: Callable[[int], None] | None = None) -> VerifyReport:
    report = VerifyReport()
    history, accounts, assets = store.reading(lambda uow: (uow.key_history(), uow.all_accounts(), uow.assets()))
    # Each signature is checked under the key its signer had when the entry was committed (ledger.keys).
    keys: dict[str, list[KeyRecord]] = defaultdict(list)
    for record in history:
        keys[record.participant].append(record)
    owners = {a.id: a.owner for a in accounts}
    counters: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    holds: dict[str, _Hold] = {}
    prev, expected_seq = GENESIS_HASH, 0
    checkpoints = {c.seq: c for c in store.reading(lambda uow: uow.checkpoints())}
    operator = store.reading(lambda uow: uow.meta("operator_key")) if checkpoints else None
    tree = TreeBuilder()

    def problem(tx: str | None, kind: str, detail: str) -> None:
        report.problems.append(Problem(tx, kind, detail))

    verifier = Verifier()
    enforce_from = store.reading(lambda uow: uow.meta("controls_from_seq"))
    flows = _ControlReplay(store, accounts, assets, int(enforce_from or 0))
    try:
        for entry, stored_legs, signatures, verdicts in _with_verdicts(store.stream_journal(), keys, verifier):
            expected_seq += 1
            report.transactions += 1
            if progress:
                progress(1)
            if entry.seq != expected_seq:
                problem(entry.id, "sequence", f"seq {entry.seq} where {expected_seq} was expected")
                expected_seq = entry.seq
            body = entry.body.encode()
            try:
                if signatures is None:
                    raise ValueError("not a JSON list")
                envelope = chain.envelope_bytes(entry.seq, entry.at, body, signatures)
            except (ValueError, LedgerError) as exc:
                problem(entry.id, "signatures", f"stored signatures unreadable: {exc}")
                signatures, verdicts, envelope = [], [], b""
            prev = chain.next_hash(prev, envelope)
            if prev != entry.hash:
                problem(entry.id, "hash", f"stored hash {entry.hash[:16]}... but the chain gives {prev[:16]}...")
                prev = entry.hash  # keep checking the rest against what is stored
            tree.add(_leaf(entry.hash))
            if entry.seq in checkpoints:
                _check_checkpoint(checkpoints.pop(entry.seq), tree.root().hex(), store.ledger_id, operator, problem)
            if chain.digest(body) != entry.digest:
                problem(entry.id, "digest", "the stored digest is not the SHA-256 of the body")
            try:
                parsed = json.loads(entry.body)
                tx = parse_tx(parsed, journal=True)
                # parse_tx has checked every key and value: plain JSON, so the fast canonical form applies.
                if canonical_bytes(parsed, plain=True) != body:
                    raise ValueError("body is not in RFC 8785 canonical form")
            except (ValueError, LedgerError) as exc:
                problem(entry.id, "body", f"the stored transaction is unreadable: {exc}")
                continue
            if tx.id != entry.id or tx.kind != entry.kind or tx.ref != entry.ref:
                problem(entry.id, "body", "id, kind or ref columns differ from the signed body")
            if tx.ledger != store.ledger_id:
                problem(entry.id, "ledger", f"signed for ledger {tx.ledger}")
            if tuple(stored_legs) != tx.legs:
                problem(entry.id, "legs", "the stored legs differ from the signed transaction's legs")
            signers = _valid_signers(entry, signatures, verdicts, problem)
            flows.replay(entry, tx, signers, problem)
            _authorize_and_replay(entry, tx.kind, tx.ref, tx.legs, tx.timeout_s, signers, signatures, owners, holds, counters, problem)
    finally:
        verifier.close()

    stored_holds = store.reading(lambda uow: uow.hold_states())
    for hold_id, hold in holds.items():
        if stored_holds.get(hold_id) != hold.status:
            problem(hold_id, "hold_state", f"stored as {stored_holds.get(hold_id)}, the journal says {hold.status}")
    for hold_id in set(stored_holds) - set(holds):
        problem(hold_id, "hold_state", "a hold with no hold transaction in the journal")
    _check_accounts(accounts, counters, problem)
    for table, detail in compare(store.reading(lambda uow: uow.control_rows()), flows.state):
        problem(None, "controls", detail)
    _check_reserves(accounts, {a.code: a for a in assets}, problem)
    for seq in sorted(checkpoints):
        problem(None, "checkpoint", f"checkpoint {seq} is beyond the journal's last entry, {expected_seq}")
    seq, head_hash = store.reading(lambda uow: uow.head())
    if (seq, head_hash) != (expected_seq, prev):
        problem(None, "head", f"the chain head says seq {seq}, the journal ends at {expected_seq}")
    return report


def _leaf(entry_hash: str) -> bytes:
    try:
        return leaf_hash(entry_hash)
    except ValueError:  # not hex: already a hash problem; any leaf will do, the root will differ
        return hashlib.sha256(b"\x00" + entry_hash.encode()).digest()


def _check_checkpoint(cp: StoredCheckpoint, root: str, ledger_id: str, operator: str | None, problem: Callable) -> None:
    if cp.root != root:
        problem(None, "checkpoint", f"checkpoint {cp.seq} signed root {cp.root[:16]}... but the journal gives {root[:16]}...")
    if operator is None or cp.operator_key != operator:
        problem(None, "checkpoint", f"checkpoint {cp.seq} is signed by {cp.operator_key}, not the registered operator key")
        return
    try:
        holds = signature_holds(public_key_from_bytes(unb64url(operator)), checkpoint_payload(ledger_id, cp.seq, cp.root, cp.at), cp.signature)
    except (LedgerError, ValueError):
        holds = False
    if not holds:
        problem(None, "checkpoint", f"the operator's signature on checkpoint {cp.seq} does not verify")


#: Journal entries whose signatures go to the verifier at once (two such chunks are in flight).
VERIFY_CHUNK = 2000


def _with_verdicts(
    entries: Iterable[tuple[StoredEntry, tuple[Leg, ...]]], keys: dict[str, list[KeyRecord]], verifier: Verifier
) -> Iterator[tuple[StoredEntry, tuple[Leg, ...], list | None, list[bool | None]]]:
    """Each entry with its parsed signatures and one verdict per signature, checked on every core.

    A verdict is None where there was nothing to check (an unknown signer, a
    malformed signature). The next chunk's signatures are being checked while
    the caller replays this one.
    """
    waiting = None
    chunk: list[tuple[StoredEntry, tuple[Leg, ...]]] = []
    for item in entries:
        chunk.append(item)
        if len(chunk) >= VERIFY_CHUNK:
            started = _start_checks(chunk, keys, verifier)
            if waiting is not None:
                yield from _finish_checks(*waiting)
            waiting, chunk = started, []
    started = _start_checks(chunk, keys, verifier) if chunk else None
    if waiting is not None:
        yield from _finish_checks(*waiting)
    if started is not None:
        yield from _finish_checks(*started)


def _start_checks(chunk: list, keys: dict[str, list[KeyRecord]], verifier: Verifier):  # type: ignore[no-untyped-def]
    checks: list[Check] = []
    rows = []
    for entry, legs in chunk:
        try:
            signatures = json.loads(entry.signatures)
            if not isinstance(signatures, list):
                raise ValueError("not a list")
        except ValueError:
            rows.append((entry, legs, None, []))
            continue
        body = entry.body.encode()
        where: list[int | None] = []
        for sig in signatures:
            signer = sig.get("signer") if isinstance(sig, dict) else None
            key = _key_at(keys, signer, entry.at) if isinstance(signer, str) else None
            try:
                raw = unb64url(sig.get("sig", "")) if key is not None else None
            except LedgerError:
                raw = None
            if key is None or raw is None:
                where.append(None)
            else:
                where.append(len(checks))
                checks.append((key, body, raw))
        rows.append((entry, legs, signatures, where))
    return rows, verifier.submit(checks)


def _key_at(keys: dict[str, list[KeyRecord]], signer: str, at: str) -> bytes | None:
    """The public key ``signer`` had at commit time ``at``: a rotated key still verifies what it signed in its time."""
    return next((k.public_key for k in keys.get(signer, ()) if k.valid_at(at)), None)


def _finish_checks(rows: list, pending: Verdicts) -> Iterator:  # type: ignore[type-arg]
    verdicts = pending.result()
    for entry, legs, signatures, where in rows:
        yield entry, legs, signatures, [None if n is None else bool(verdicts[n]) for n in where]


def _valid_signers(entry: StoredEntry, signatures: list, verdicts: list[bool | None], problem: Callable) -> set[str]:
    valid = set()
    for sig, holds in zip(signatures, verdicts, strict=True):
        signer = sig.get("signer") if isinstance(sig, dict) else None
        if holds:
            valid.add(signer)
        else:
            problem(entry.id, "signature", f"the signature of {signer} does not verify under {signer}'s key at {entry.at}")
    return valid


def _authorize_and_replay(
    entry: StoredEntry,
    kind: str,
    ref: str | None,
    legs: tuple[Leg, ...],
    timeout_s: int | None,
    signers: set[str],
    signatures: list,
    owners: dict[str, str],
    holds: dict[str, _Hold],
    counters: dict[str, list[int]],
    problem: Callable,
) -> None:
    if kind in (POST, VOID, EXPIRE):
        hold = holds.get(ref or "")
        if hold is None or hold.status != "pending":
            problem(entry.id, "hold", f"finishes {ref}, which is not a pending hold at that point")
            return
        if kind == EXPIRE:
            if signatures or hold.expires_at > entry.at:
                problem(entry.id, "authorization", f"expires {ref} before its timeout or carries signatures")
        else:
            debtors = {owners.get(leg.debit) for leg in hold.legs}
            creditors = {owners.get(leg.credit) for leg in hold.legs}
            if not (debtors <= signers or creditors <= signers):
                problem(entry.id, "authorization", f"finishes {ref} without its debtors' or creditors' signatures")
        for leg in hold.legs:
            counters[leg.debit][2] -= leg.amount
            counters[leg.credit][3] -= leg.amount
        hold.status = "voided"
        if kind == POST:
            hold.status = "posted"
            for leg in legs:
                counters[leg.debit][0] += leg.amount
                counters[leg.credit][1] += leg.amount
        return
    debtors = {owners.get(leg.debit) for leg in legs}
    missing = debtors - signers
    if missing:
        problem(entry.id, "authorization", f"debits accounts of {', '.join(sorted(map(str, missing)))} without their signature")
    if kind == HOLD:
        holds[entry.id] = _Hold(legs, chain.expiry(entry.at, timeout_s or 0))
        for leg in legs:
            counters[leg.debit][2] += leg.amount
            counters[leg.credit][3] += leg.amount
    else:
        for leg in legs:
            counters[leg.debit][0] += leg.amount
            counters[leg.credit][1] += leg.amount


class _ControlReplay:
    """The capital-flow controls replayed from the first entry by the book's own rules (:mod:`ledger.controls`).

    Every outflow counter, conversion, cross-border movement and quote taken is
    rebuilt from the journal alone. Entries after ``enforce_from`` must pass the
    rules (one that is refused is a problem); those up to it were accepted by an
    older wonledger before an upgrade and are only measured.
    """

    def __init__(self, store: Store, accounts: list[Account], assets: list[Asset], enforce_from: int = 0) -> None:
        people, quotes = store.reading(lambda uow: (uow.participants(), uow.all_quotes()))
        self.people = {p.id: p for p in people}
        self.accounts = {a.id: a for a in accounts}
        self.assets = {a.code: a for a in assets}
        policy = load_flow_policy()
        self.controls = Controls(policy)
        self.state = ControlState(record=True, quotes=quotes, policy=policy)
        self.enforce_from = enforce_from
        #: holds still pending: their legs and when they were made
        self.holds: dict[str, tuple[tuple[Leg, ...], str]] = {}

    def _views(self, legs: tuple[Leg, ...]) -> list[LegView] | None:
        views = []
        for leg in legs:
            debit, credit, asset = self.accounts.get(leg.debit), self.accounts.get(leg.credit), self.assets.get(leg.asset)
            if debit is None or credit is None or asset is None or debit.owner not in self.people or credit.owner not in self.people:
                return None  # a problem of its own, reported by the counters' replay
            views.append(LegView(leg, asset, debit, credit, self.people[debit.owner], self.people[credit.owner]))
        return views

    def replay(self, entry: StoredEntry, tx, signers: set[str] | None, problem: Callable) -> None:  # type: ignore[no-untyped-def]
        enforce = entry.seq > self.enforce_from
        try:
            if tx.kind in (POST, VOID, EXPIRE):
                found = self.holds.pop(tx.ref or "", None)
                if found is None:
                    return
                held, posted = self._views(found[0]), self._views(tx.legs if tx.kind == POST else ())
                if held is None or posted is None:
                    return
                effect = self.controls.release(self.state, tx.ref, held, posted, found[1], entry.at)
            else:
                views = self._views(tx.legs)
                if views is None:
                    return
                effect = self.controls.check(self.state, tx, views, signers if enforce else None, entry.at, enforce=enforce)
                if tx.kind == HOLD:
                    self.holds[entry.id] = (tx.legs, entry.at)
        except LedgerError as exc:
            problem(entry.id, "controls", f"the capital-flow controls refuse it: {exc.code}: {exc.message}")
            return
        self.state.apply(effect, entry.seq, entry.id, entry.at)


def rebuild_controls(store: Store) -> None:
    """Rebuild the control tables of a ledger an older wonledger made, from its journal, by this version's rules.

    Its entries were accepted under the rules of their time, so they are measured,
    not judged; ``verify`` holds every later entry to the rules (the first seq it
    judges is kept in ``meta`` as ``controls_from_seq``).
    """
    accounts, assets = store.reading(lambda uow: (uow.all_accounts(), uow.assets()))
    last = store.reading(lambda uow: uow.head())[0]
    replay = _ControlReplay(store, accounts, assets, enforce_from=last)
    for entry, _ in store.stream_journal():
        try:
            tx = parse_tx(json.loads(entry.body), journal=True)
        except (ValueError, LedgerError):
            continue  # unreadable: verify reports it
        replay.replay(entry, tx, None, lambda *problem: None)
    rows = replay.state.record or ControlRows()
    store.writing(lambda uow: uow.replace_control_rows(rows, last))


def _check_reserves(accounts: Iterable[Account], assets: dict[str, Asset], problem: Callable) -> None:
    """Every issuer's reserve in a currency covers its stablecoins in that currency."""
    supply: dict[tuple[str, str], int] = defaultdict(int)
    reserve: dict[tuple[str, str], int] = defaultdict(int)
    for a in accounts:
        asset = assets.get(a.asset)
        if asset is None:
            continue
        key = (a.owner, asset.currency)
        if ISSUANCE in a.flags and asset.kind == STABLECOIN:
            supply[key] += at_scale(-a.balance + a.debits_pending, asset.exponent)
        elif RESERVE in a.flags:
            reserve[key] += at_scale(a.available, asset.exponent)
    for (issuer, currency), issued in sorted(supply.items()):
        if reserve[(issuer, currency)] < issued:
            problem(None, "reserve", f"{issuer}'s {currency} reserve is below the stablecoins it has issued")


def _check_accounts(accounts: Iterable[Account], counters: dict[str, list[int]], problem: Callable) -> None:
    by_asset: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    known = set()
    for a in accounts:
        known.add(a.id)
        stored = [a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending]
        replayed = counters.get(a.id, [0, 0, 0, 0])
        if stored != replayed:
            names = ("debits_posted", "credits_posted", "debits_pending", "credits_pending")
            diffs = ", ".join(f"{n} {s} (journal: {r})" for n, s, r in zip(names, stored, replayed, strict=True) if s != r)
            problem(None, "counters", f"account {a.id}: stored {diffs}")
        if not a.may_overdraw and a.available < 0:
            problem(None, "overdraft", f"account {a.id} is overdrawn: available {a.available}")
        totals = by_asset[a.asset]
        totals[0] += a.balance
        totals[1] += a.debits_pending
        totals[2] += a.credits_pending
    for account_id in set(counters) - known:
        problem(None, "counters", f"the journal moves account {account_id}, which does not exist")
    for asset, (balance, debits_pending, credits_pending) in sorted(by_asset.items()):
        if balance != 0:
            problem(None, "zero_sum", f"{asset} balances sum to {balance}, not zero")
        if debits_pending != credits_pending:
            problem(None, "zero_sum", f"{asset} pending debits {debits_pending} differ from pending credits {credits_pending}")
