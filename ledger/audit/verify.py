"""`verify`: everything the journal proves, checked against everything stored.

The journal is the whole truth. ``verify`` replays it from the first entry
through the same rulebook the book applies (the replay of
:mod:`wonledger.book.replay`, which the rebuild of the control tables
shares), into a state held in memory, and checks on the way: the hash chain and each entry's
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
from the registry its ``genesis`` entry froze (reported as a note), if that
entry sits where an upgrade puts it; the rulebook holds the genesis to
having a registry that signed entries could have made, like any other
entry (:mod:`wonledger.rulebook.genesis`).
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace

from wonledger.audit.entry_checks import KEY_HISTORY, CheckedRow, check_page
from wonledger.audit.proofs import TreeBuilder, checkpoint_payload
from wonledger.book.replay import Replay
from wonledger.book.signature_pool import Pending, Verifier
from wonledger.domain.errors import LedgerError
from wonledger.domain.model import GENESIS, ISSUANCE, RESERVE, KeyRecord, SignedTx, StoredTx
from wonledger.domain.packed import unpack
from wonledger.domain.signing import public_key_from_bytes, signature_holds, unb64url
from wonledger.flows.crossborder import offer_holds
from wonledger.rulebook.controls import compare
from wonledger.rulebook.policy import STABLECOIN, at_scale, load_registry_policy, reserve_counts
from wonledger.rulebook.rules import LedgerState, signature_keys
from wonledger.store import GENESIS_HASH, JournalPage, Store, StoredCheckpoint


@dataclass(frozen=True, slots=True)
class Problem:
    tx: str | None
    kind: str
    detail: str

    def to_json(self) -> dict[str, object]:
        return {"tx": self.tx, "kind": self.kind, "detail": self.detail}


#: What verify reads, or the ledger keeps beside the journal, that nothing in the journal can vouch for (docs/trust.md).
UNCHECKED = (
    "the refusals `report rejections` lists (a record no rule reads)",
    "this wonledger's fixtures/policy.toml and fx_rates.csv, trusted like its code",
)


@dataclass(slots=True)
class VerifyReport:
    transactions: int = 0
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def unchecked(self) -> tuple[str, ...]:
        """What this verify trusted without checking it (the same for every ledger; docs/trust.md says why)."""
        return UNCHECKED

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"ok": self.ok, "transactions": self.transactions, "problems": [p.to_json() for p in self.problems]}
        if self.notes:
            out["notes"] = list(self.notes)
        return out


def verify_ledger(store: Store, progress: Callable[[int], None] | None = None) -> VerifyReport:
    """Everything the journal proves, checked against everything stored, on one snapshot of the database (writers go on)."""
    with store.snapshot():
        return _verify(store, progress)


def _verify(store: Store, progress: Callable[[int], None] | None) -> VerifyReport:
    report = VerifyReport()

    def problem(tx: str | None, kind: str, detail: str) -> None:
        report.problems.append(Problem(tx, kind, detail))

    # The pool checks each signature under the stored key of its time; the replay then holds that key
    # to the one the replayed registry gives (and the stored key table is compared with it at the end).
    keys: dict[str, list[KeyRecord]] = defaultdict(list)
    for record in store.reading(lambda uow: uow.registry.key_history()):
        keys[record.participant].append(record)
    # The capital-flow controls are replayed too; entries up to a genesis (where an upgrade put one) were accepted
    # by an older wonledger and are measured by today's controls rather than judged (the replay derives where).
    replay = Replay(store)
    genesis = replay.genesis
    if genesis is not None:
        unreadable = replay.seed()
        if unreadable is None:
            report.notes.append(
                f"the registry before seq {genesis.seq} was kept outside the journal; entry _genesis (seq {genesis.seq}, "
                f"{genesis.at}) froze it at the upgrade, unsigned but chained, and the replay starts from it"
            )
        else:
            problem("_genesis", "body", f"the frozen registry is unreadable: {unreadable}")
    chained = _Chain(store, problem)
    verifier = Verifier()
    verifier.share(KEY_HISTORY, dict(keys))
    try:
        for entry, worked in _checked_entries(store, verifier):
            report.transactions += 1
            if progress:
                progress(1)
            readable = chained.check(entry, worked)
            if readable is not None:
                verdicts = list(worked[8]) if readable else []
                _replay_entry(replay, entry, worked[6], verdicts, readable, store.ledger_id, report, problem)
    finally:
        verifier.close()

    _compare_tables(store, replay.state, problem)
    for _table, detail in compare(store.reading(lambda uow: uow.controls.control_rows()), replay.controls):
        problem(None, "controls", detail)
    _check_offers(store, replay.state, report, problem)
    chained.finish()
    return report


class _Chain:
    """What verify checks of each row as stored: sequence, commit times, the hash chain, digests, checkpoints."""

    def __init__(self, store: Store, problem: Callable) -> None:
        self.store, self.problem = store, problem
        self.prev, self.expected_seq, self.last_at = GENESIS_HASH, 0, ""
        self.checkpoints = {c.seq: c for c in store.reading(lambda uow: uow.records.checkpoints())}
        self.operator = store.reading(lambda uow: uow.records.meta("operator_key")) if self.checkpoints else None
        self.tree = TreeBuilder()

    def check(self, entry: StoredTx, worked: CheckedRow) -> bool | None:
        """Check ``entry`` as stored, with what the workers found of it (see ``check_page``).

        None when its body does not decode (it cannot be replayed), False when its signatures do not.
        """
        problem = self.problem
        self.expected_seq += 1
        if entry.seq != self.expected_seq:
            problem(entry.id, "sequence", f"seq {entry.seq} where {self.expected_seq} was expected")
            self.expected_seq = entry.seq
        if entry.at < self.last_at:
            problem(entry.id, "time", f"committed at {entry.at}, before the entry ahead of it ({self.last_at}): commit times never go back")
        self.last_at = max(self.last_at, entry.at)
        _, _, _, unreadable, linked, digest_holds, _, leaf, _ = worked
        if unreadable is not None:
            problem(entry.id, "signatures", f"stored signatures unreadable: {unreadable}")
        if linked is not None:
            problem(entry.id, "hash", f"stored hash {entry.hash[:16]}... but the chain gives {linked[:16]}...")
        self.prev = entry.hash  # each link is checked from the stored hash before it, whatever it held
        self.tree.add(leaf)
        if entry.seq in self.checkpoints:
            _check_checkpoint(self.checkpoints.pop(entry.seq), self.tree.root().hex(), self.store.ledger_id, self.operator, problem)
        if not digest_holds:
            problem(entry.id, "digest", "the stored digest is not the SHA-256 of the body")
        if entry.signed is None:
            problem(entry.id, "body", f"the stored transaction is unreadable: {entry.problem}")
            return None
        return unreadable is None

    def finish(self) -> None:
        """After the last entry: checkpoints past the journal, and the chain head."""
        for seq in sorted(self.checkpoints):
            self.problem(None, "checkpoint", f"checkpoint {seq} is beyond the journal's last entry, {self.expected_seq}")
        seq, head_hash = self.store.reading(lambda uow: uow.journal.head())
        if (seq, head_hash) != (self.expected_seq, self.prev):
            self.problem(None, "head", f"the chain head says seq {seq}, the journal ends at {self.expected_seq}")


def _replay_entry(
    replay: Replay,
    entry: StoredTx,
    legs_match: bool,
    verdicts: list,
    signatures_readable: bool,
    ledger_id: str,
    report: VerifyReport,
    problem: Callable,
) -> None:
    """Hold a decoded entry to its columns, legs and signatures, and replay it through the rulebook.

    Unreadable stored signatures (already reported) count as none.
    """
    signed = entry.signed
    assert signed is not None
    if not signatures_readable:
        signed = replace(signed, signatures=())
    tx = signed.tx
    if tx.id != entry.id or tx.kind != entry.kind or tx.ref != entry.ref:
        problem(entry.id, "body", "id, kind or ref columns differ from the signed body")
    if tx.ledger != ledger_id:
        problem(entry.id, "ledger", f"signed for ledger {tx.ledger}")
    if not legs_match:
        problem(entry.id, "legs", "the stored legs differ from the signed transaction's legs")
    state = replay.state
    before = len(report.problems)
    signers = _signers(signed, verdicts, state, entry, problem)
    forged = len(report.problems) > before
    state.enforce_controls = entry.seq > replay.judged_after
    try:
        effect = replay.decide(entry, signers)
    except LedgerError as exc:
        kind = "genesis" if tx.kind == GENESIS else "authorization" if exc.code in ("NOT_AUTHORIZED", "BAD_SIGNATURE") else "rules"
        problem(entry.id, kind, f"the rulebook refuses it at {entry.at}: {exc.code}: {exc.message}")
        if not forged:
            return
        # Its signatures are reported: replay it as its signers claim, so what follows is checked
        # against what the entry did rather than buried under the consequences of leaving it out.
        try:
            effect = replay.decide(entry, replay.claimed_signers(signed, entry.at))
        except LedgerError:
            return
    replay.apply(entry, effect)


def _signers(signed: SignedTx, verdicts: list, state: LedgerState, entry: StoredTx, problem: Callable) -> dict[str, bytes]:
    """Who signed the entry, under which key: the pool's verdict where its key is the one the replayed registry gives."""
    expected = signature_keys(signed, lambda p: state.public_key_at(p, entry.at))
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


def _compare_tables(store: Store, state: LedgerState, problem: Callable) -> None:
    """Every derived table against the replay, naming the first difference in each."""
    stored = store.reading(
        lambda uow: (
            uow.registry.participants(),
            uow.registry.key_history(),
            uow.registry.assets(),
            uow.registry.issuers(),
            uow.registry.all_accounts(),
            uow.holds.hold_rows(),
        )
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
        dict(holds.items()),
        {h.id: (h.status, h.expires_at, h.finished_by) for h in state.holds.values()},
        names_tx=True,
    )
    _check_sums(accounts, problem)
    _check_reserves(accounts, {a.code: a for a in assets}, load_registry_policy(), problem)


def _check_offers(store: Store, state: LedgerState, report: VerifyReport, problem: Callable) -> None:
    """Every offered quote stored is as its dealer signed it, under the key the replayed registry gave the dealer then.

    No rule reads an offer (what binds is the quote in the exchange the dealer
    signs), and ``swap --quote`` takes a stored offer only while its signature
    holds; an offer stored before offers were signed is counted in a note.
    """
    unsigned = 0
    for quote in store.reading(lambda uow: uow.records.all_quotes()):
        if quote.signature is None:
            unsigned += 1
            continue
        key = state.key_at(quote.dealer, quote.created_at)
        if not offer_holds(store.ledger_id, quote, key.public_key if key is not None else None):
            problem(None, "quote", f"offered quote {quote.quote_id} is not as {quote.dealer} signed it: the stored offer was altered")
    if unsigned:
        report.notes.append(
            f"{unsigned} offered quote(s) were stored unsigned, before offers were signed (schema 0006): no rule reads "
            "an offer, and swap --quote takes none of them"
        )


def _check_reserves(accounts: Iterable, assets: dict, policy, problem: Callable) -> None:
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


def _check_sums(accounts: Iterable, problem: Callable) -> None:
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


#: Rows per task a worker checks (a page of the store's 2,000 rows gives every core parts).
VERIFY_PART = 250
#: Pages handed to the workers ahead of the one being replayed; at most this many plus one are held.
AHEAD = 2


def _checked_entries(store: Store, verifier: Verifier) -> Iterator[tuple[StoredTx, CheckedRow]]:
    """Every journal entry, decoded and checked on its own by the workers (see ``check_page``), in order.

    While the caller replays one page, the next ones are being decoded and
    checked on the other cores.
    """
    waiting: deque[tuple[JournalPage, Pending[CheckedRow]]] = deque()
    prev = GENESIS_HASH
    for page in store.journal_pages():
        items = []
        for part in page.split(VERIFY_PART):
            items.append((part, prev))
            prev = part.rows[-1][8]
        waiting.append((page, verifier.map(check_page, items, size=1, units=len(page.rows))))
        if len(waiting) > AHEAD:
            yield from _entries(*waiting.popleft())
    while waiting:
        yield from _entries(*waiting.popleft())


def _entries(page: JournalPage, pending: Pending[CheckedRow]) -> Iterator[tuple[StoredTx, CheckedRow]]:
    for (seq, tx_id, kind, ref, at, body, _signatures, digest, entry_hash), worked in zip(page.rows, pending.result(), strict=True):
        packed, problem, signature_list = worked[0], worked[1], worked[2]
        signed = unpack(packed) if packed is not None else None
        canonical = signed.canonical if signed is not None else body.encode()
        yield StoredTx(seq, tx_id, kind, ref, at, digest, entry_hash, canonical, signed, signature_list, problem), worked
