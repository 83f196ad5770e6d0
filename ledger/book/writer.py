"""The book: the one writer of the ledger.

Every change to a wonledger database is a journal entry that passes through
:meth:`Book.submit_many` (or :meth:`Book.submit`, a batch of one): payments,
holds and their ends, and registry entries alike (participants, assets,
issuers, accounts, keys). For each chunk, in one database transaction:

1. **load**: under the chain-head lock, everything the rules will read for
   this chunk (accounts, the participants and keys involved, assets,
   issuers, holds, reversals, controls) into a :class:`~wonledger.rulebook.rules.LedgerState`;
   holds whose timeout has passed are voided first by entries the ledger
   writes itself (``_expire:<hold>``);
2. **decide**: the rulebook (:mod:`wonledger.rulebook.rules`) validates, authorizes and
   applies its policy to each entry in order, against that state; refusals
   change nothing;
3. **persist**: entries chained by hash, and every table the rules derive
   from them, written together with the record of each refusal.

A refused transaction changes no balance; a chunk commits all of its
accepted transactions or none, together with the record of every refusal
(``report rejections``). Signature arithmetic runs before the write
transaction begins so that locks are held only for the bookkeeping; for a
large chunk it runs on every core, in the book's own pool of worker
processes (:mod:`wonledger.book.signature_pool`), while the previous chunk is applied.
"""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TypeVar

from wonledger.book.lines import KEYS, LEDGER, SYSTEM_PREFIX, ParsedLine, admit, check_lines
from wonledger.book.signature_pool import Check, Pending, Verdicts, Verifier
from wonledger.domain import chain
from wonledger.domain.errors import BadInput, BadSignature, DuplicateConflict, LedgerError, RuleRefusal
from wonledger.domain.model import (
    EXPIRE,
    FULFIL,
    GENESIS,
    HOLD,
    KEY,
    NEW_ASSET,
    NEW_ISSUER,
    NEW_KEY,
    POST,
    REJECT,
    REVERSAL,
    VOID,
    Leg,
    Receipt,
    Refusal,
    SignedTx,
    Tx,
    account_id,
)
from wonledger.domain.money import format_amount
from wonledger.domain.packed import unpack
from wonledger.domain.signing import canonical_bytes, public_key_from_bytes, signature_holds, unb64url
from wonledger.domain.wire import parsed_here, wire_bytes
from wonledger.rulebook.controls import ControlRows, needs, partner_participant
from wonledger.rulebook.loader import control_state
from wonledger.rulebook.policy import CUSTOMER_KINDS
from wonledger.rulebook.rules import LedgerState, Rulebook, signature_keys
from wonledger.store import EntryInfo, NewEntry, Store, UnitOfWork

Clock = Callable[[], datetime]
T = TypeVar("T")
Outcome = Receipt | LedgerError
#: One signature of a chunk as checked before the write: under which name and key, and its check's index
#: in the chunk's verdicts (or VERIFIED / REFUSED where a worker checked it with the line).
_Planned = tuple[str, "bytes | None", "int | None"]
VERIFIED, REFUSED = -1, -2


def expiry_id(hold_id: str) -> str:
    """The id of the entry that voids an expired hold."""
    return f"_expire:{hold_id}" if len(hold_id) <= 120 else "_expire:" + hashlib.sha256(hold_id.encode()).hexdigest()


class Prepared:
    """A chunk whose signatures (and, for raw lines, parsing) the book is checking; only the book that made it applies it."""

    __slots__ = ("__weakref__", "batch", "digests", "items", "lines", "records", "signatures", "verdicts")

    def __init__(
        self, batch: tuple[SignedTx, ...], items: list[list[_Planned] | LedgerError], verdicts: Verdicts,
        lines: Pending[ParsedLine | LedgerError] | None = None,
    ) -> None:
        self.batch = batch
        self.items = items
        self.verdicts = verdicts
        #: raw lines being parsed and checked by the workers (see prepare_lines), until the book settles them
        self.lines = lines
        #: per entry, where the workers computed them: its digest and its signatures' canonical bytes
        self.digests: list[str] | None = None
        self.signatures: list[bytes] | None = None
        #: records (see Book.record) written in the same transaction, under the lock, before the chunk is loaded
        self.records: tuple[Callable[[UnitOfWork], object], ...] = ()


class Book:
    """Applies journal entries to one ledger's store: the only writer."""

    def __init__(self, store: Store, clock: Clock = chain.utc_now) -> None:
        self.store = store
        self.clock = clock
        #: The registered key of each signer seen, as last read (the write re-checks it under the lock).
        self._keys: dict[str, bytes] = {}
        self.rules = Rulebook.from_policy()
        self.flow_policy = self.rules.flow_policy
        self.registry_policy = self.rules.registry
        #: the capital-flow rules, as the rulebook runs them (the API reads the breaker's status through them)
        self.controls = self.rules.controls
        #: Signatures are checked here, on every core for a large chunk.
        self._verifier = Verifier()
        self._prepared: weakref.WeakSet[Prepared] = weakref.WeakSet()

    @property
    def ledger_id(self) -> str:
        return self.store.ledger_id

    # -- public ----------------------------------------------------------
    def submit(self, signed: SignedTx, records: Sequence[Callable[[UnitOfWork], object]] = ()) -> Receipt:
        """Apply one entry or raise the reason it was refused.

        ``records`` (records no rule derives, like the quote a dealer offers for
        this very entry) are written first, in the same database transaction,
        whether or not the entry is accepted.
        """
        prepared = self.prepare([signed])
        prepared.records = tuple(records)
        outcome = self.submit_prepared(prepared)[0]
        if isinstance(outcome, LedgerError):
            raise outcome
        return outcome

    def submit_many(self, batch: Sequence[SignedTx]) -> list[Outcome]:
        """Apply a chunk in one database transaction; one outcome per item, in order."""
        return self.submit_prepared(self.prepare(batch))

    def prepare(self, batch: Sequence[SignedTx]) -> Prepared:
        """Start checking the signatures of a chunk (on every core) before it is applied.

        Batch ingest prepares the next chunk while the book applies this one.
        Only a :class:`Prepared` this book made, and only once, is accepted by
        :meth:`submit_prepared`: the verdicts it carries come from the book's
        own pool, against keys the book looked up itself.
        """
        prepared = Prepared(tuple(batch), *self._start_signature_checks(batch))
        self._prepared.add(prepared)
        return prepared

    def prepare_lines(self, lines: Sequence[bytes | str]) -> Prepared:
        """Start parsing a chunk of raw JSON lines and checking their signatures, on every core for a large chunk.

        The workers do everything that needs no ledger state (see
        :mod:`wonledger.book.lines`); :meth:`submit_prepared` then decides and
        writes, and gives one outcome per line: a line that does not parse
        gets the error that refuses it, as batch ingest reports it.
        """
        if not self._verifier.shared(LEDGER):
            self._verifier.share(LEDGER, {"id": self.ledger_id})
        prepared = Prepared((), [], Verdicts(done=b""), lines=self._verifier.map(check_lines, list(lines)))
        self._prepared.add(prepared)
        return prepared

    def submit_prepared(self, prepared: Prepared) -> list[Outcome]:
        """Apply a chunk :meth:`prepare` or :meth:`prepare_lines` started; one outcome per item (or line), in order."""
        if prepared not in self._prepared:
            raise BadInput("a prepared chunk is applied once, by the book that prepared it")
        self._prepared.discard(prepared)
        if prepared.lines is not None:
            return self._submit_lines(prepared, prepared.lines.result())
        if not prepared.batch:
            return []
        return self._write_prepared(prepared, prepared.verdicts.result())

    def _write_prepared(self, prepared: Prepared, verdicts: Sequence[int]) -> list[Outcome]:
        """Write a prepared chunk in one transaction, run again whole if the store retries it (each attempt knowing the one before)."""
        tried: list[list[Outcome]] = []  # what each attempt of this write decided, before its commit

        def write(uow: UnitOfWork) -> list[Outcome]:
            outcomes = self._write(uow, prepared, verdicts, tried[-1] if tried else None)
            tried.append(outcomes)
            return outcomes

        return self.store.writing(write)

    def _submit_lines(self, prepared: Prepared, results: list[ParsedLine | LedgerError]) -> list[Outcome]:
        """Apply the lines the workers parsed: what they could not check for want of a key is checked now."""
        parsed = [r for r in results if not isinstance(r, LedgerError)]
        unknown = {
            name for *_, checked in parsed if not isinstance(checked, LedgerError)
            for name, key, _ in checked if key is None and NEW_KEY not in name
        } - set(self._keys)
        if unknown:
            self._learn_keys(self.store.reading(lambda uow: uow.registry.current_keys(unknown)))
        batch: list[SignedTx] = []
        items: list[list[_Planned] | LedgerError] = []
        checks: list[Check] = []
        for _packed, _digest, _signatures, checked in parsed:
            signed = unpack(_packed)
            batch.append(signed)
            if isinstance(checked, LedgerError):
                items.append(checked)
            elif all(key is not None for _, key, _ in checked):
                items.append([(name, key, VERIFIED if holds else REFUSED) for name, key, holds in checked])
            else:  # a signer the workers had no key for yet: checked here, with the key the book looked up
                items.append(self._plan_checks(signed, checks, admitted=True))
        prepared.batch, prepared.items = tuple(batch), items
        prepared.digests = [r[1] for r in parsed]
        prepared.signatures = [r[2] for r in parsed]
        outcomes: list[Outcome] = []
        if batch:
            outcomes = self._write_prepared(prepared, self._verifier.submit(checks).result() if checks else b"")
        applied = iter(outcomes)
        return [r if isinstance(r, LedgerError) else next(applied) for r in results]

    def remember_keys(self, keys: dict[str, bytes]) -> None:
        """Current keys a caller read (with what it is about to submit): no read of its own before the write, which checks them under its lock."""
        self._learn_keys(keys)

    def _learn_keys(self, keys: dict[str, bytes]) -> None:
        """Keep signers' current keys, and share those that changed with the workers that check lines."""
        changed = {signer: key for signer, key in keys.items() if self._keys.get(signer) != key}
        if changed:
            self._keys.update(changed)
            self._verifier.share(KEYS, changed)

    def expire_due(self) -> int:
        """Void every hold whose timeout has passed, in one write; returns how many."""
        now = chain.iso(self.clock())
        if self.store.read_only or not self.store.reading(lambda uow: uow.holds.expired_holds(now, limit=1)):
            return 0  # (a ledger that may only be read shows its holds as the journal left them)
        return self.store.writing(lambda uow: len(self._write(uow, None, [])))

    def freeze_registry(self, genesis: Callable[[UnitOfWork], Tx | None]) -> Receipt | None:
        """Append the genesis entry ``genesis`` builds from the stored registry, once, at an upgrade."""

        def write(uow: UnitOfWork) -> Receipt | None:
            seq, prev = uow.journal.head(lock=True)
            tx = genesis(uow)
            if tx is None:
                return None  # another process froze it first
            if not tx.id.startswith(SYSTEM_PREFIX) or tx.kind != GENESIS:
                raise BadInput("the ledger writes only expiries and a genesis itself")
            signed = SignedTx(tx=tx, signatures=(), canonical=canonical_bytes(tx.to_wire()))
            state = LedgerState(self.ledger_id)
            first = uow.journal.first_registry_entry()  # what the rulebook needs to know of where a genesis would sit
            if first is not None:
                state.genesis_seen = state.genesis_seen or first[1] == tx.id
                state.registry_signed = first[1] != tx.id
            now = self._now(uow)
            self.rules.decide(state, tx, {}, now, system=True)  # the rulebook's refusal first: a second genesis is no duplicate to look up
            outcome = self._decide_and_chain(uow, [signed], [{}], state, seq, prev, now, True, [uow.journal.last_entry_at()])[0][0]
            if isinstance(outcome, LedgerError):
                raise outcome
            return outcome

        return self.store.writing(write)

    def close(self) -> None:
        """Stop the verification workers, if any were started."""
        self._verifier.close()

    # -- authorize: signature arithmetic, outside the write transaction ---
    def _start_signature_checks(self, batch: Sequence[SignedTx]) -> tuple[list[list[_Planned] | LedgerError], Verdicts]:
        """Refuse what needs no arithmetic now; send the arithmetic to the book's verifier."""
        items: list[list[_Planned] | LedgerError] = []
        checks: list[Check] = []
        unknown = {s.signer for signed in batch for s in signed.signatures} - set(self._keys)
        if unknown:
            self._learn_keys(self.store.reading(lambda uow: uow.registry.current_keys(unknown)))
        for signed in batch:
            try:
                items.append(self._plan_checks(signed, checks))
            except LedgerError as exc:
                items.append(exc)
        return items, self._verifier.submit(checks)

    def _plan_checks(self, signed: SignedTx, checks: list[Check], admitted: bool = False) -> list[_Planned]:
        """Each signature with the key to check it under (the check added to ``checks``); ``admitted``: parsed and admitted by a worker."""
        if not admitted:
            admit(signed, self.ledger_id)
        # What is signed and kept is the canonical bytes; the book acts on the
        # transaction those bytes say, so a SignedTx built in Python whose `tx`
        # differs from its bytes (or that the wire format would refuse) is refused.
        # (A SignedTx the wire module parsed was made from its bytes: nothing to compare. Otherwise the
        # wire form is one-to-one, so equal canonical bytes mean the bytes say exactly this Tx.)
        if not admitted and not parsed_here(signed) and wire_bytes(signed.tx) != signed.canonical:
            raise BadInput(f"{signed.tx.id}: the transaction differs from the bytes that were signed")
        planned: list[_Planned] = []
        for name, key, sig in signature_keys(signed, self._keys.get):
            raw = unb64url(sig)
            if key is None:
                planned.append((name, None, None))  # an unknown signer: decided under the lock, once the chunk's registry is known
            else:
                planned.append((name, key, len(checks)))
                checks.append((key, signed.canonical, raw))
        return planned

    def _signers(self, signed: SignedTx, planned: list[_Planned], verdicts: Sequence[int], state: LedgerState, now: str) -> dict[str, bytes]:
        """Who signed, and under which key: the pool's verdicts where its key is the one the rules expect, else checked here."""
        signers: dict[str, bytes] = {}
        expected = signature_keys(signed, lambda p: state.public_key_at(p, now))
        for (name, key, index), (_, want, sig) in zip(planned, expected, strict=True):
            verified = index == VERIFIED or (index is not None and index >= 0 and verdicts[index])
            if want is not None and want != key:
                # The key changed since the pool's check (a rotation, or a registration earlier in this chunk).
                if signature_holds(public_key_from_bytes(want), signed.canonical, sig):
                    signers[name] = want
                    continue
            if verified and key is not None:
                signers[name] = key  # the rules say whether that key still signs
                continue
            if want is None and key is None:
                raise BadSignature(f"{name} is not a registered participant, so cannot sign")
            retired = next(
                (k.public_key for k in state.keys.get(name, ()) if k.retired_at is not None
                 and signature_holds(public_key_from_bytes(k.public_key), signed.canonical, sig)),
                None,
            )
            if retired is not None:
                signers[name] = retired  # the rules say when it was retired
                continue
            raise BadSignature(f"the signature of {name.partition('#')[0]} on {signed.tx.id} does not verify")
        return signers

    # -- the write transaction ------------------------------------------
    def _now(self, uow: UnitOfWork) -> str:
        # Commit times never go back in seq order, whatever the clock says.
        now = chain.iso(self.clock())
        last = uow.journal.last_entry_at()
        return max(now, last) if last else now

    def record(self, work: Callable[[UnitOfWork], T]) -> T:
        """Write a record the rules never read (a quote offered, the operator's public key, a checkpoint).

        It queues behind the book's writers on the chain-head lock, so it sees
        every entry committed before it; these are the only writes besides journal entries.
        """

        def write(uow: UnitOfWork) -> T:
            uow.journal.head(lock=True)
            return work(uow)

        return self.store.writing(write)

    def _write(self, uow: UnitOfWork, prepared: Prepared | None, verdicts: Sequence[int], earlier: list[Outcome] | None = None) -> list[Outcome]:
        """Load, decide and persist a chunk (with the expiries due) in the unit of work ``uow``.

        ``earlier``: what the previous attempt of this same write decided, when
        its transaction failed (see :meth:`_own_lost_commit`).
        """
        # verdicts: one per signature check, true where it held (the pool's bytes of 0 and 1)
        # The chain head's row lock comes first: on PostgreSQL (READ COMMITTED) every
        # writer queues on it, so everything read below already includes what the
        # writer before us committed, and the commit time is read after the wait.
        seq, prev = uow.journal.head(lock=True)
        landed = earlier is not None and self._own_lost_commit(uow, earlier)
        for record in prepared.records if prepared is not None else ():
            record(uow)
        now = self._now(uow)
        due = uow.holds.expired_holds(now)
        expiries = [self._expiry(hold_id) for hold_id in due]
        batch = list(prepared.batch) if prepared is not None else []
        state = self._load(uow, expiries + batch, now)
        last_signed = [uow.journal.last_entry_at()]  # when the last entry that a key signed was committed (at the latest)
        outcomes, seq, prev = self._decide_and_chain(uow, expiries, [{}] * len(expiries), state, seq, prev, now, True, last_signed)
        if prepared is None:
            return outcomes
        worked = (prepared.digests, prepared.signatures) if prepared.digests is not None and prepared.signatures is not None else None
        outcomes = self._decide_and_chain(
            uow, batch, prepared.items, state, seq, prev, now, False, last_signed, verdicts, worked, refusals=not landed
        )[0]
        if not landed or earlier is None:
            return outcomes
        # The earlier attempt's commit landed though its acknowledgement was lost: what it posted, this command posted.
        posted_then = {o.id for o in earlier if isinstance(o, Receipt) and not o.duplicate}
        return [replace(o, duplicate=False) if isinstance(o, Receipt) and o.duplicate and o.id in posted_then else o for o in outcomes]

    @staticmethod
    def _own_lost_commit(uow: UnitOfWork, earlier: list[Outcome]) -> bool:
        """Whether the previous attempt of this write committed after all (its connection failed on the way back).

        Its new entries are then in the journal: that attempt's refusals were
        recorded with them and are not recorded twice. (An attempt that posted
        nothing and only refused leaves no trace to tell by: its refusals may
        then be recorded once per attempt. Another process that posted the
        very same entries meanwhile comes to the same thing.)
        """
        posted = [o.id for o in earlier if isinstance(o, Receipt) and not o.duplicate]
        return bool(posted) and bool(uow.journal.entries_by_id(posted[:1]))

    def _expiry(self, hold_id: str) -> SignedTx:
        tx = Tx(ledger=self.ledger_id, id=expiry_id(hold_id), kind=EXPIRE, legs=(), ref=hold_id)
        return SignedTx(tx=tx, signatures=(), canonical=canonical_bytes(tx.to_wire()))

    def _load(self, uow: UnitOfWork, batch: Sequence[SignedTx], now: str) -> LedgerState:
        """Everything the rules will read for this chunk, read now, under the lock."""
        state = LedgerState(self.ledger_id)
        txs = [s.tx for s in batch]
        hold_refs = {tx.ref for tx in txs if tx.kind in (POST, VOID, EXPIRE, FULFIL, REJECT) and tx.ref}
        reversal_refs = {tx.ref for tx in txs if tx.kind == REVERSAL and tx.ref}
        state.holds = uow.holds.holds(hold_refs) if hold_refs else {}
        if reversal_refs:
            state.originals = uow.journal.entry_legs(reversal_refs)
            state.reversed = uow.journal.reversed_refs(reversal_refs)
        state.assets = {a.code: a for a in uow.registry.assets()}
        state.issuers = uow.registry.issuers()
        touched = {a for tx in txs for leg in tx.legs for a in (leg.debit, leg.credit)}
        touched.update(a for h in state.holds.values() for leg in h.legs for a in (leg.debit, leg.credit))
        touched.update(spec.id for tx in txs for spec in tx.opens)
        for tx in txs:
            subject = tx.subject
            if tx.kind == NEW_ASSET and subject is not None:
                touched.add(account_id(subject.issuer, subject.code))  # type: ignore[union-attr]
            elif tx.kind == NEW_ISSUER and subject is not None:
                touched.add(account_id(subject.issuer, subject.asset))  # type: ignore[union-attr]
        watched = state.assets.get(self.flow_policy.breaker_asset)
        if watched is not None:
            touched.add(account_id(watched.issuer, watched.code))  # the run breaker measures against the supply
        accounts = uow.registry.accounts(touched, lock=True)
        backing = {a.owner for a in accounts.values()} | {spec.owner for tx in txs for spec in tx.opens if spec.reserve}
        backing &= set(state.issuers.values()) | {a.owner for a in accounts.values() if "reserve" in a.flags}
        if backing:
            extra = set(uow.registry.reserve_and_issuance_accounts(backing)) - set(accounts)
            accounts.update(uow.registry.accounts(extra, lock=True))
        for a in accounts.values():
            state.add_account(a)
        people = {a.owner for a in accounts.values()} | {s.signer for tx in batch for s in tx.signatures}
        people.update(a.issuer for a in state.assets.values())
        people.update(self.registry_policy.authorities.values())
        for tx in txs:
            people.update(spec.owner for spec in tx.opens)
            subject = tx.subject
            if subject is not None:
                people.update(v for k, v in subject.to_wire().items() if k in ("id", "registrar", "issuer", "participant") and isinstance(v, str))
        state.participants = uow.registry.participants_by_id(people)
        state.keys = uow.registry.key_histories(state.participants)
        self._learn_keys({pid: history[-1].public_key for pid, history in state.keys.items() if history[-1].retired_at is None})
        # The control figures this chunk's rules read (ledger.controls.needs says which).
        owners = {a.owner for a in accounts.values()} | {spec.owner for tx in txs for spec in tx.opens}
        # A conditional hold's party on the partner ledger is on the path the controls follow (its travel window too).
        travels = [tx.travel for tx in txs if tx.condition is not None] + [h.travel for h in state.holds.values()]
        far = {p.id: partner_participant(p) for t in travels if t is not None and (p := t.remote) is not None and p.id not in owners}
        keys = needs(
            [state.participants[p] for p in owners if p in state.participants] + list(far.values()),
            [state.assets[a.asset] for a in accounts.values() if a.asset in state.assets],
            {tx.quote.id for tx in txs if tx.quote is not None},
            now,
            [h.at for h in state.holds.values() if h.at],
            self.flow_policy,
        )
        state.controls = control_state(uow.controls.control_figures(keys), self.flow_policy)
        return state

    def _decide_and_chain(
        self,
        uow: UnitOfWork,
        batch: Sequence[SignedTx],
        signers: Sequence[dict[str, bytes] | list[_Planned] | LedgerError],
        state: LedgerState,
        seq: int,
        prev: str,
        now: str,
        system: bool,
        last_signed: list[str | None],
        verdicts: Sequence[int] = (),
        worked: tuple[list[str], list[bytes]] | None = None,
        refusals: bool = True,
    ) -> tuple[list[Outcome], int, str]:
        """Decide each entry in order against ``state``, chain the accepted ones, write it all; returns the new head too.

        ``worked``: each entry's digest and its signatures' canonical bytes, where the workers computed them.
        """
        committed = uow.journal.entries_by_id(s.tx.id for s in batch)
        outcomes: list[Outcome] = []
        new_entries: list[NewEntry] = []
        entries: dict[str, EntryInfo] = {}
        rejections: list[Refusal] = []
        link = chain.Link(prev, now)
        for n, (signed, who) in enumerate(zip(batch, signers, strict=True)):
            tx = signed.tx
            known = committed.get(tx.id) or entries.get(tx.id)
            digest = worked[0][n] if worked is not None else chain.digest(signed.canonical)
            if known is not None and not isinstance(who, LedgerError):
                outcomes.append(_duplicate(known, digest))
                continue
            if tx.kind == KEY and last_signed[0] is not None and last_signed[0] >= now:
                # A key signs from its entry's commit time on: that time must come after every entry the old key signed.
                now = chain.iso(chain.parse_iso(last_signed[0]) + timedelta(microseconds=1))
            try:
                if isinstance(who, LedgerError):
                    raise who
                keys = who if isinstance(who, dict) else self._signers(signed, who, verdicts, state, now)
                effect = self.rules.decide(state, tx, keys, now, system=system)
            except LedgerError as exc:
                outcomes.append(exc)
                if refusals:
                    self._record_refusal(signed, exc, state, now, rejections)
                continue
            seq += 1
            # Every signer is registered and every sig verified text: plain JSON.
            signatures = worked[1][n] if worked is not None else canonical_bytes([s.to_wire() for s in signed.signatures], plain=True)
            prev = link.next(seq, now, signed.canonical, signatures)
            state.apply(effect, tx, seq, now)
            pending = tx.kind == HOLD
            status = "pending" if pending else "posted"
            new_entries.append(NewEntry(seq, tx.id, tx.kind, tx.ref, now, signed.canonical.decode(), signatures.decode(), digest, prev, tx.legs, pending))
            entries[tx.id] = EntryInfo(tx.id, seq, tx.kind, now, digest, prev, status)
            outcomes.append(self._receipt(state, tx, seq, prev, now, status, effect.released))
            if signed.signatures:
                last_signed[0] = now
        self._persist(uow, state, new_entries, (seq, prev), rejections)
        return outcomes, seq, prev

    @staticmethod
    def _receipt(state: LedgerState, tx: Tx, seq: int, entry_hash: str, now: str, status: str, released: tuple[Leg, ...]) -> Receipt:
        """The receipt of an accepted entry: a hold's expiry; what a post, void or expiry released (the rulebook's effect)."""
        if tx.kind == HOLD:
            return Receipt(tx.id, seq, entry_hash, now, status, expires_at=state.holds[tx.id].expires_at, released=released)
        return Receipt(tx.id, seq, entry_hash, now, status, released=released)

    def _persist(self, uow: UnitOfWork, state: LedgerState, new_entries: list[NewEntry], head: tuple[int, str], rejections: list[Refusal]) -> None:
        if new_entries:
            uow.registry.append_registry(
                state.new_participants, state.new_keys, state.retired_keys, state.new_assets, state.new_issuers, state.new_accounts
            )
            uow.journal.append(new_entries, state.changed_accounts(), [(h.id, h.expires_at) for h in state.new_holds], state.finished_holds, head)
            # What is written is no longer new: the state may serve another pass in this transaction.
            for a in state.changed_accounts():
                state.accounts[a.id] = a
            state.counters.clear()
            for lst in (state.new_participants, state.new_keys, state.retired_keys, state.new_assets, state.new_issuers, state.new_accounts, state.new_holds, state.finished_holds):
                lst.clear()
        if state.control_rows:
            uow.controls.append_control_rows(state.control_rows.tables())
            state.control_rows = ControlRows()
        if rejections:
            uow.records.add_rejections(rejections)

    def _record_refusal(self, signed: SignedTx, error: LedgerError, state: LedgerState, now: str, rejections: list[Refusal]) -> None:
        """Keep who tried what and why it was refused (refusals by a rule, not malformed input)."""
        if not isinstance(error, RuleRefusal):
            return
        tx = signed.tx
        legs = tx.legs or (state.holds[tx.ref].legs if tx.ref in state.holds else ())
        debtors = {state.accounts[leg.debit].owner for leg in legs if leg.debit in state.accounts}
        # Who tried: the customers among the debtors (not the issuer and dealer who co-sign a send), else every debtor.
        customers = {d for d in debtors if d in state.participants and state.participants[d].kind in CUSTOMER_KINDS}
        subject = tx.subject
        named = next((v for k, v in (subject.to_wire().items() if subject is not None else ()) if k in ("id", "issuer", "participant")), None)
        opener = sorted({s.owner for s in tx.opens})
        who = ",".join(sorted(customers or debtors) or ([str(named)] if named else opener) or sorted({s.signer for s in signed.signatures})) or "unknown"
        moves = [
            f"{format_amount(leg.amount, state.assets[leg.asset].exponent) if leg.asset in state.assets else leg.amount} "
            f"{leg.asset} {leg.debit} -> {leg.credit}"
            for leg in legs[:4]
        ]
        described = f" ({_describe(subject)})" if subject is not None else ""
        opened = f" opening {', '.join(s.id for s in tx.opens)}" if tx.opens else ""
        what = f"{tx.kind} {tx.id}{described}{opened}" + (f": {'; '.join(moves)}" if moves else "") + (" ..." if len(legs) > 4 else "")
        rejections.append(Refusal(now, who, tx.id, tx.kind, what[:2000], error.code, error.message[:2000]))


def _describe(subject: object) -> str:
    """A registry entry's subject in a few words, for the record of refusals."""
    from wonledger.domain.model import AssetSpec, IssuerSpec, KeySpec, Registration

    if isinstance(subject, Registration):
        return f"{subject.id}, {subject.kind} in {subject.jurisdiction}, registrar {subject.registrar}"
    if isinstance(subject, AssetSpec):
        return f"{subject.code}, {subject.kind} in {subject.currency} of {subject.issuer}"
    if isinstance(subject, IssuerSpec):
        return f"{subject.issuer} for {subject.asset} in {subject.currency}"
    if isinstance(subject, KeySpec):
        return f"{subject.participant}'s key {subject.reason}"
    return str(subject)


def _duplicate(known: EntryInfo, digest: str) -> Outcome:
    if known.digest != digest:
        return DuplicateConflict(f"{known.id} was already used for a different transaction (seq {known.seq})")
    return Receipt(known.id, known.seq, known.hash, known.at, known.status, duplicate=True)
