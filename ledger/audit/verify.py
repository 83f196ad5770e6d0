"""`verify`: everything the journal proves, checked against everything stored.

The journal is the whole truth. ``verify`` replays it from the first entry
through the same rulebook the book applies (:mod:`ledger.rules`), into a
state held in memory, and checks on the way: the hash chain and each entry's
digest; that commit times never go back in sequence order; that each body is
canonical JSON of a well-formed entry for this ledger and the stored legs
are its legs; every signature, under the key its signer had at the entry's
commit time as the replayed registry says; and that the rulebook accepts
every entry at its commit time (so a post equals its hold within its
amounts, by its debtors or creditors, before it expired; a reversal is exact
and once; nobody overdraws; reserves are full and real ...).

Then every table the book derives from the journal is compared with what
the replay rebuilt, naming the first difference in each: participants, keys
with their validity spans, assets, issuers, accounts with their flags and
counters, holds with their expiry and end. Every asset must sum to zero,
every stablecoin be fully reserved, the chain head be the last entry, and
every signed checkpoint's Merkle root be the journal's.

A ledger upgraded from a registry kept outside the journal starts its replay
from the registry its ``genesis`` entry froze (reported as a note).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from wonledger.domain import chain
from wonledger.rulebook.controls import ControlRows, ControlState, compare
from wonledger.domain.errors import LedgerError
from wonledger.domain.model import GENESIS, ISSUANCE, RESERVE, REVERSAL, KeyRecord, Leg, Signature, SignedTx
from wonledger.rulebook.policy import STABLECOIN, at_scale, load_flow_policy, load_issuer_policy, load_registry_policy, reserve_counts
from wonledger.audit.proofs import TreeBuilder, checkpoint_payload, leaf_hash
from wonledger.rulebook.rules import LedgerState, Rulebook, signature_keys
from wonledger.domain.signing import canonical_bytes, public_key_from_bytes, signature_holds, unb64url
from wonledger.store import GENESIS_HASH, Store, StoredCheckpoint, StoredEntry
from wonledger.book.upgrade import seed_from_snapshot
from wonledger.book.signature_pool import Check, Verdicts, Verifier
from wonledger.domain.wire import parse_tx


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
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"ok": self.ok, "transactions": self.transactions, "problems": [p.to_json() for p in self.problems]}
        if self.notes:
            out["notes"] = list(self.notes)
        return out


def verify_ledger(store: Store, progress: Callable[[int], None] | None = None) -> VerifyReport:
    report = VerifyReport()
    history = store.reading(lambda uow: uow.key_history())
    # The pool checks each signature under the stored key of its time; the replay then holds that key
    # to the one the replayed registry gives (and the stored key table is compared with it at the end).
    keys: dict[str, list[KeyRecord]] = defaultdict(list)
    for record in history:
        keys[record.participant].append(record)
    state = LedgerState(store.ledger_id, keep_originals=False)
    flow_policy = load_flow_policy()
    rules = Rulebook(load_registry_policy(), load_issuer_policy(), flow_policy)
    prev, expected_seq, last_at = GENESIS_HASH, 0, ""
    checkpoints = {c.seq: c for c in store.reading(lambda uow: uow.checkpoints())}
    operator = store.reading(lambda uow: uow.meta("operator_key")) if checkpoints else None
    tree = TreeBuilder()

    def problem(tx: str | None, kind: str, detail: str) -> None:
        report.problems.append(Problem(tx, kind, detail))

    genesis = store.reading(lambda uow: uow.entry("_genesis"))
    if genesis is not None:
        try:
            seed_from_snapshot(state, json.loads(genesis[0].body)["snapshot"])
            report.notes.append(
                f"the registry before seq {genesis[0].seq} was kept outside the journal; entry _genesis (seq {genesis[0].seq}, "
                f"{genesis[0].at}) froze it at the upgrade, unsigned but chained, and the replay starts from it"
            )
        except (ValueError, KeyError, TypeError, LedgerError) as exc:
            problem("_genesis", "body", f"the frozen registry is unreadable: {exc}")

    # The capital-flow controls replayed too; entries up to `controls_from_seq` were accepted by an older
    # wonledger, before an upgrade, and are measured by today's controls rather than judged.
    enforce_from, quotes = store.reading(lambda uow: (uow.meta("controls_from_seq"), uow.all_quotes()))
    state.controls = ControlState(record=True, quotes=quotes, policy=flow_policy)
    verifier = Verifier()
    try:
        for entry, stored_legs, signatures, verdicts in _with_verdicts(store.stream_journal(), keys, verifier):
            expected_seq += 1
            report.transactions += 1
            if progress:
                progress(1)
            if entry.seq != expected_seq:
                problem(entry.id, "sequence", f"seq {entry.seq} where {expected_seq} was expected")
                expected_seq = entry.seq
            if entry.at < last_at:
                problem(entry.id, "time", f"committed at {entry.at}, before the entry ahead of it ({last_at}): commit times never go back")
            last_at = max(last_at, entry.at)
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
                # parse_tx has checked every key and value but a genesis entry's snapshot: plain JSON.
                if canonical_bytes(parsed, plain=tx.kind != GENESIS) != body:
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
            sigs = tuple(Signature(str(s.get("signer", "")), str(s.get("sig", ""))) if isinstance(s, dict) else Signature("", "") for s in signatures)
            signed = SignedTx(tx=tx, signatures=sigs, canonical=body)
            before = len(report.problems)
            signers = _signers(signed, signatures, verdicts, state, entry, problem)
            forged = len(report.problems) > before
            if tx.kind == REVERSAL and tx.ref and tx.ref not in state.originals:
                original = store.reading(lambda uow, ref=tx.ref: uow.entry_legs([ref]))
                state.originals.update(original)
            system = entry.id.startswith("_")
            state.enforce_controls = entry.seq > int(enforce_from or 0)
            try:
                effect = rules.decide(state, tx, signers, entry.at, system=system)
            except LedgerError as exc:
                kind = "authorization" if exc.code in ("NOT_AUTHORIZED", "BAD_SIGNATURE") else "rules"
                problem(entry.id, kind, f"the rulebook refuses it at {entry.at}: {exc.code}: {exc.message}")
                if not forged:
                    continue
                # Its signatures are reported: replay it as its signers claim, so what follows is checked
                # against what the entry did rather than buried under the consequences of leaving it out.
                claimed = {n: k for n, k, _ in signature_keys(signed, lambda p: _key_at(state, p, entry.at)) if k is not None}
                try:
                    effect = rules.decide(state, tx, claimed, entry.at, system=system)
                except LedgerError:
                    continue
            if tx.kind == GENESIS and genesis is not None and entry.seq != genesis[0].seq:
                problem(entry.id, "genesis", "a second genesis entry")
            state.apply(effect, tx, entry.seq, entry.at)
            state.originals.clear()
    finally:
        verifier.close()

    _compare_tables(store, state, problem)
    for _table, detail in compare(store.reading(lambda uow: uow.control_rows()), state.controls):
        problem(None, "controls", detail)
    for seq in sorted(checkpoints):
        problem(None, "checkpoint", f"checkpoint {seq} is beyond the journal's last entry, {expected_seq}")
    seq, head_hash = store.reading(lambda uow: uow.head())
    if (seq, head_hash) != (expected_seq, prev):
        problem(None, "head", f"the chain head says seq {seq}, the journal ends at {expected_seq}")
    return report


def _signers(signed: SignedTx, signatures: list, verdicts: list, state: LedgerState, entry: StoredEntry, problem: Callable) -> dict[str, bytes]:
    """Who signed the entry, under which key: the pool's verdict where its key is the one the replayed registry gives."""
    expected = signature_keys(signed, lambda p: _key_at(state, p, entry.at))
    signers: dict[str, bytes] = {}
    for (name, want, sig), checked in zip(expected, verdicts, strict=True):
        verdict, used = checked if checked is not None else (False, None)
        if want is not None and verdict and used == want:
            signers[name] = want
            continue
        if want is not None:
            try:
                if signature_holds(public_key_from_bytes(want), signed.canonical, sig):
                    signers[name] = want
                    continue
            except (LedgerError, ValueError):
                pass
        shown = name.partition("#")[0]
        problem(entry.id, "signature", f"the signature of {shown} does not verify under {shown}'s key at {entry.at}")
    return signers


def _key_at(state: LedgerState, participant: str, at: str) -> bytes | None:
    record = state.key_at(participant, at)
    return record.public_key if record is not None else None


def _compare_tables(store: Store, state: LedgerState, problem: Callable) -> None:
    """Every derived table against the replay, naming the first difference in each."""
    stored = store.reading(
        lambda uow: (uow.participants(), uow.key_history(), uow.assets(), uow.issuer_rows(), uow.all_accounts(), uow.hold_rows())
    )
    participants, key_rows, assets, issuers, accounts, holds = stored

    def table(name: str, kept: dict, replayed: dict, show: Callable[[object], str] = repr, names_tx: bool = False) -> None:
        differing = sorted((k for k in kept.keys() | replayed.keys() if kept.get(k) != replayed.get(k)), key=str)
        if not differing:
            return
        first = differing[0]
        more = f" (and {len(differing) - 1} more)" if len(differing) > 1 else ""
        if first not in replayed:
            detail = f"{name} {first} is stored but no journal entry made it{more}"
        elif first not in kept:
            detail = f"{name} {first} is missing: the journal makes it {show(replayed[first])}{more}"
        else:
            detail = f"{name} {first} is stored as {show(kept[first])}; the journal says {show(replayed[first])}{more}"
        problem(first if names_tx else None, name, detail)

    table(
        "participant",
        {p.id: (p.kind, p.jurisdiction, p.resident, p.public_key.hex(), p.registrar) for p in participants},
        {p.id: (p.kind, p.jurisdiction, p.resident, p.public_key.hex(), p.registrar) for p in state.participants.values()},
    )
    table(
        "key",
        {(k.participant, k.public_key.hex()): (k.valid_from, k.retired_at, k.reason) for k in key_rows},
        {(k.participant, k.public_key.hex()): (k.valid_from, k.retired_at, k.reason) for ks in state.keys.values() for k in ks},
    )
    table("asset", {a.code: (a.currency, a.kind, a.exponent, a.issuer) for a in assets}, {a.code: (a.currency, a.kind, a.exponent, a.issuer) for a in state.assets.values()})
    table("issuer", dict(issuers), dict(state.issuers))
    replayed_accounts = state.snapshot_accounts()
    table(
        "account",
        {a.id: (a.owner, a.asset, ",".join(sorted(a.flags)), a.label) for a in accounts},
        {a.id: (a.owner, a.asset, ",".join(sorted(a.flags)), a.label) for a in replayed_accounts.values()},
    )
    names = ("debits_posted", "credits_posted", "debits_pending", "credits_pending")
    table(
        "counters",
        {a.id: (a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending) for a in accounts},
        {a.id: (a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending) for a in replayed_accounts.values()},
        show=lambda v: ", ".join(f"{n} {x}" for n, x in zip(names, v, strict=True)),  # type: ignore[call-overload]
    )
    table(
        "hold",
        {h_id: row for h_id, row in holds.items()},
        {h.id: (h.status, h.expires_at, h.finished_by) for h in state.holds.values()},
        names_tx=True,
    )
    _check_sums(accounts, problem)
    _check_reserves(accounts, {a.code: a for a in assets}, load_registry_policy(), problem)


def _check_reserves(accounts: Iterable, assets: dict, policy, problem: Callable) -> None:  # type: ignore[no-untyped-def, type-arg]
    """Every issuer's eligible reserve in a currency covers its stablecoins in that currency, as stored."""
    supply: dict[tuple[str, str], int] = defaultdict(int)
    reserve: dict[tuple[str, str], int] = defaultdict(int)
    for a in accounts:
        asset = assets.get(a.asset)
        if asset is None:
            continue
        key = (a.owner, asset.currency)
        if ISSUANCE in a.flags and asset.kind == STABLECOIN:
            supply[key] += at_scale(-a.balance + a.debits_pending, asset.exponent)
        elif RESERVE in a.flags and reserve_counts(a.owner, asset, policy):
            reserve[key] += at_scale(a.available, asset.exponent)
    for (issuer, currency), issued in sorted(supply.items()):
        if reserve[(issuer, currency)] < issued:
            problem(None, "reserve", f"{issuer}'s eligible {currency} reserve is below the stablecoins it has issued")


def _check_sums(accounts: Iterable, problem: Callable) -> None:  # type: ignore[type-arg]
    by_asset: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for a in accounts:
        if not a.may_overdraw and a.available < 0:
            problem(None, "overdraft", f"account {a.id} is overdrawn: available {a.available}")
        totals = by_asset[a.asset]
        totals[0] += a.balance
        totals[1] += a.debits_pending
        totals[2] += a.credits_pending
    for asset, (balance, debits_pending, credits_pending) in sorted(by_asset.items()):
        if balance != 0:
            problem(None, "zero_sum", f"{asset} balances sum to {balance}, not zero")
        if debits_pending != credits_pending:
            problem(None, "zero_sum", f"{asset} pending debits {debits_pending} differ from pending credits {credits_pending}")


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
        where: list[tuple[int, bytes] | None] = []
        for sig in signatures:
            signer = sig.get("signer") if isinstance(sig, dict) else None
            key = _stored_key_at(keys, signer, entry.at) if isinstance(signer, str) else None
            try:
                raw = unb64url(sig.get("sig", "")) if key is not None else None
            except LedgerError:
                raw = None
            if key is None or raw is None:
                where.append(None)
            else:
                where.append((len(checks), key))
                checks.append((key, body, raw))
        rows.append((entry, legs, signatures, where))
    return rows, verifier.submit(checks)


def _stored_key_at(keys: dict[str, list[KeyRecord]], signer: str, at: str) -> bytes | None:
    """The stored key ``signer`` had at commit time ``at`` (the newest, where a rotation's two keys meet)."""
    for k in reversed(keys.get(signer, ())):
        if k.valid_at(at):
            return k.public_key
    return None


def _finish_checks(rows: list, pending: Verdicts) -> Iterator:  # type: ignore[type-arg]
    verdicts = pending.result()
    for entry, legs, signatures, where in rows:
        yield entry, legs, signatures, [None if w is None else (bool(verdicts[w[0]]), w[1]) for w in where]




def rebuild_controls(book) -> None:  # type: ignore[no-untyped-def]
    """Rebuild the control tables of a ledger an older wonledger made, from its journal, by today's controls.

    Its entries were accepted under the rules of their time, so the replay (the
    same rulebook, from the genesis entry's registry) measures them and judges
    nothing; ``verify`` holds every later entry to the rules (the first seq it
    judges is kept in ``meta`` as ``controls_from_seq``). The rows are written
    through the book's record path, behind its writers.
    """
    store = book.store
    flow_policy = load_flow_policy()
    state = LedgerState(store.ledger_id, keep_originals=False, enforce_controls=False)
    rules = Rulebook(load_registry_policy(), load_issuer_policy(), flow_policy)
    state.controls = ControlState(record=True, quotes=store.reading(lambda uow: uow.all_quotes()), policy=flow_policy)
    genesis = store.reading(lambda uow: uow.entry("_genesis"))
    if genesis is not None:
        seed_from_snapshot(state, json.loads(genesis[0].body)["snapshot"])
    last = 0
    for entry, _legs in store.stream_journal():
        last = entry.seq
        try:
            tx = parse_tx(json.loads(entry.body), journal=True)
            sigs = tuple(Signature(s["signer"], s["sig"]) for s in json.loads(entry.signatures))
            signed = SignedTx(tx=tx, signatures=sigs, canonical=entry.body.encode())
            claimed = {n: k for n, k, _ in signature_keys(signed, lambda p: _key_at(state, p, entry.at)) if k is not None}
            if tx.kind == REVERSAL and tx.ref:
                state.originals.update(store.reading(lambda uow, ref=tx.ref: uow.entry_legs([ref])))
            effect = rules.decide(state, tx, claimed, entry.at, system=entry.id.startswith("_"))
        except (ValueError, KeyError, TypeError, LedgerError):
            continue  # verify reports it
        state.apply(effect, tx, entry.seq, entry.at)
        state.originals.clear()
    rows = state.controls.record or ControlRows()
    book.record(lambda uow: uow.replace_control_rows(rows, last))
