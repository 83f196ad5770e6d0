"""The book: the one writer of balances.

Every balance change in wonledger is a signed transaction that passes through
:meth:`Book.submit_many` (or :meth:`Book.submit`, a batch of one):

1. **validate**: the wire module already refused malformed input; here the
   transaction must name this ledger, and its accounts, assets and holds
   must exist and agree;
2. **authorize**: every signature verifies against its signer's registered
   key, and every owner of a debited account signed (for a post or void:
   every debtor of the hold, or every creditor of it);
3. **policy**: the rules of the book (no overdraft, counters within 64 bits,
   holds pending and unexpired, nothing reversed twice), those of
   :mod:`ledger.policy` (deposit tokens credited to residents only, full
   reserves) and the cross-border controls of :mod:`ledger.controls`
   (quotes, travel rule, residents' outflow limit, run breaker);
4. **apply**: journal entries chained by hash, legs, holds and counters
   written in one database transaction per chunk.

A refused transaction changes no balance; a chunk commits all of its
accepted transactions or none, together with the record of every refusal
(``report rejections``). Signature arithmetic runs before the write
transaction begins so that locks are held only for the bookkeeping; for a
large chunk it runs on every core, in the book's own pool of worker
processes (:mod:`ledger.verifier`), while the previous chunk is applied.
"""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger import chain
from ledger.errors import (
    AlreadyReversed,
    AssetMismatch,
    BadAmount,
    BadInput,
    BadSignature,
    DuplicateConflict,
    HoldExpired,
    HoldNotPending,
    InsufficientFunds,
    IssuerNotRegistered,
    LedgerError,
    NotAuthorized,
    RuleRefusal,
    UnknownAccount,
    UnknownAsset,
    UnknownParticipant,
    UnknownTransaction,
)
from ledger.model import (
    EXPIRE,
    HOLD,
    ISSUANCE,
    RESERVE,
    PLAIN_KINDS,
    POST,
    REVERSAL,
    VOID,
    Account,
    Leg,
    Participant,
    Receipt,
    Refusal,
    SignedTx,
    Tx,
    account_id,
)
from ledger.controls import ControlEffect, ControlRows, Controls, ControlState, LegView, needs
from ledger.money import MAX_COUNTER, Asset, check_minor_units, format_amount
from ledger.registry import new_account
from ledger.policy import CUSTOMER_KINDS, DEPOSIT_TOKEN, STABLECOIN, WHOLESALE_CBDC, at_scale, load_flow_policy, require_full_reserve, require_may_hold
from ledger.signing import b64url, canonical_bytes, public_bytes, public_key_from_bytes, signature_holds, unb64url
from ledger.store import EntryInfo, HoldState, NewEntry, Store, UnitOfWork
from ledger.verifier import Check, Verdicts, Verifier
from ledger.wire import loads, parse_tx, parsed_here

Clock = Callable[[], datetime]
#: An account a transaction may open: (owner, asset, label, reserve).
AccountToOpen = tuple[str, str, str, bool]
Outcome = Receipt | LedgerError
#: One transaction's queued signature checks: where they start in the chunk's
#: list, how many there are, and a refusal found after them (an unknown signer).
_Pending = tuple[int, int, "LedgerError | None"]

#: Ids the ledger writes itself start with a character no client id may start with.
SYSTEM_PREFIX = "_"


def expiry_id(hold_id: str) -> str:
    """The id of the entry that voids an expired hold."""
    return f"_expire:{hold_id}" if len(hold_id) <= 120 else "_expire:" + hashlib.sha256(hold_id.encode()).hexdigest()


class Prepared:
    """A chunk whose signatures the book is checking; only the book that made it applies it."""

    __slots__ = ("batch", "items", "verdicts", "__weakref__")

    def __init__(self, batch: tuple[SignedTx, ...], items: list[_Pending | LedgerError], verdicts: Verdicts) -> None:
        self.batch = batch
        self.items = items
        self.verdicts = verdicts


class Book:
    """Applies signed transactions to one ledger's store."""

    def __init__(self, store: Store, clock: Clock = chain.utc_now) -> None:
        self.store = store
        self.clock = clock
        self.ledger_id = store.ledger_id
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._participants: dict[str, Participant] = {}
        self._assets: dict[str, Asset] = {}
        self.flow_policy = load_flow_policy()
        #: The capital-flow rules: pure, over the ControlState each chunk loads (verify's replay runs the same).
        self.controls = Controls(self.flow_policy)
        #: Signatures are checked here, on every core for a large chunk.
        self._verifier = Verifier()
        self._prepared: weakref.WeakSet[Prepared] = weakref.WeakSet()

    # -- public ----------------------------------------------------------
    def submit(self, signed: SignedTx, opens: Sequence[AccountToOpen] = ()) -> Receipt:
        """Apply one transaction or raise the reason it was refused.

        ``opens`` names accounts the transaction needs that may not exist yet
        (``(owner, asset, label, reserve)``): those missing are opened in the
        same database transaction, and only if the transaction is accepted.
        """
        outcome = self.submit_many([signed], opens)[0]
        if isinstance(outcome, LedgerError):
            raise outcome
        return outcome

    def submit_many(self, batch: Sequence[SignedTx], opens: Sequence[AccountToOpen] = ()) -> list[Outcome]:
        """Apply a chunk in one database transaction; one outcome per item, in order."""
        return self.submit_prepared(self.prepare(batch), opens)

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

    def submit_prepared(self, prepared: Prepared, opens: Sequence[AccountToOpen] = ()) -> list[Outcome]:
        """Apply a chunk :meth:`prepare` started; one outcome per item, in order."""
        if prepared not in self._prepared:
            raise BadInput("a prepared chunk is applied once, by the book that prepared it")
        self._prepared.discard(prepared)
        if not prepared.batch:
            return []
        signers = self._finish_signature_checks(prepared)
        self.expire_due()
        return self.store.writing(lambda uow: self._apply(uow, prepared.batch, signers, system=False, opens=opens))

    def close(self) -> None:
        """Stop the verification workers, if any were started."""
        self._verifier.close()

    def expire_due(self) -> int:
        """Void every hold whose timeout has passed; returns how many."""
        now = chain.iso(self.clock())
        if not self.store.reading(lambda uow: uow.expired_holds(now, limit=1)):
            return 0
        total = 0
        while True:
            outcomes = self.store.writing(self._expire_some)
            total += sum(1 for o in outcomes if isinstance(o, Receipt))
            if len(outcomes) < 1000:
                return total

    # -- authorize: signature arithmetic, outside the write transaction ---
    def _start_signature_checks(self, batch: Sequence[SignedTx]) -> tuple[list[_Pending | LedgerError], Verdicts]:
        """Check all but the arithmetic now; send the arithmetic to the book's verifier."""
        items: list[_Pending | LedgerError] = []
        checks: list[Check] = []
        for signed in batch:
            try:
                items.append(self._signature_checks(signed, checks))
            except LedgerError as exc:
                items.append(exc)
        return items, self._verifier.submit(checks)

    def _finish_signature_checks(self, prepared: Prepared) -> list[frozenset[str] | LedgerError]:
        verdicts = prepared.verdicts.result()
        results: list[frozenset[str] | LedgerError] = []
        for signed, item in zip(prepared.batch, prepared.items, strict=True):
            if isinstance(item, LedgerError):
                results.append(item)
                continue
            start, checked, refusal = item
            failed = next((n for n in range(checked) if not verdicts[start + n]), None)
            if failed is not None:
                signer = signed.signatures[failed].signer
                results.append(BadSignature(f"the signature of {signer} on {signed.tx.id} does not verify"))
            elif refusal is not None:
                results.append(refusal)
            else:
                results.append(frozenset(s.signer for s in signed.signatures))
        return results

    def _signature_checks(self, signed: SignedTx, checks: list[Check]) -> _Pending:
        """Refuse what needs no arithmetic; queue one check per signature on ``checks``.

        Signatures are judged in order: a signature that does not verify is the
        refusal even when a later signer is unknown (that refusal is kept aside).
        """
        if signed.tx.ledger != self.ledger_id:
            raise BadSignature(f"{signed.tx.id} is signed for ledger {signed.tx.ledger}, not this ledger {self.ledger_id}")
        if signed.tx.id.startswith(SYSTEM_PREFIX):
            raise BadInput(f"ids starting with {SYSTEM_PREFIX!r} are written by the ledger itself")
        if signed.tx.kind == EXPIRE:
            raise BadInput("expiries are written by the ledger itself when a hold times out")
        # What is signed and kept is the canonical bytes; the book acts on the
        # transaction those bytes say, so a SignedTx built in Python whose `tx`
        # differs from its bytes (or that the wire format would refuse) is refused.
        # The values themselves must pass the wire format too: 1.0 == 1 and True == 1
        # in Python, so the comparison below alone lets a float or bool amount in.
        for n, leg in enumerate(signed.tx.legs, 1):
            check_minor_units(leg.amount, f"leg {n} amount")
        # (A SignedTx the wire module parsed was made from its bytes: nothing to compare.)
        if not parsed_here(signed) and (
            type(signed.tx.timeout_s) not in (int, type(None)) or parse_tx(loads(signed.canonical)) != signed.tx
        ):
            raise BadInput(f"{signed.tx.id}: the transaction differs from the bytes that were signed")
        start = len(checks)
        refusal: LedgerError | None = None
        for sig in signed.signatures:
            try:
                raw = unb64url(sig.sig)
                key = self._public_key(sig.signer)
            except LedgerError as exc:
                refusal = exc
                break
            checks.append((public_bytes(key), signed.canonical, raw))
        return start, len(checks) - start, refusal

    def _public_key(self, participant: str) -> Ed25519PublicKey:
        key = self._keys.get(participant)
        if key is None:
            self._load_participants()
            key = self._keys.get(participant)
            if key is None:
                raise BadSignature(f"{participant} is not a registered participant, so cannot sign")
        return key

    def _recheck_keys(
        self, uow: UnitOfWork, batch: Sequence[SignedTx], signers: Sequence[frozenset[str] | LedgerError]
    ) -> Sequence[frozenset[str] | LedgerError]:
        """Signatures were checked against cached keys; inside the write transaction, hold them to the registered ones.

        Another process may have rotated or revoked a key since this book
        cached it (ledger.keys): the signatures of that participant are
        checked again against its key as registered now, so a retired key
        signs nothing and a new one is not refused for being new. A
        signature refused because it verifies only under a retired key says so.
        """
        named = {sig.signer for signed in batch for sig in signed.signatures}
        if not named:
            return signers
        registered = uow.current_keys(named)
        changed = {p for p, raw in registered.items() if p in self._keys and public_bytes(self._keys[p]) != raw}
        checked = list(signers)
        if changed:
            for p in changed:
                self._keys[p] = public_key_from_bytes(registered[p])
            for n, signed in enumerate(batch):
                if any(sig.signer in changed for sig in signed.signatures):
                    try:
                        checked[n] = self._signers_now(signed)
                    except LedgerError as exc:
                        checked[n] = exc
        refused = [n for n, who in enumerate(checked) if isinstance(who, BadSignature)]
        if refused:
            retired = [k for k in uow.key_history() if k.retired_at is not None and k.participant in named]
            for n in refused:
                for sig in batch[n].signatures:
                    for old in (k for k in retired if k.participant == sig.signer):
                        if signature_holds(public_key_from_bytes(old.public_key), batch[n].canonical, sig.sig):
                            checked[n] = BadSignature(
                                f"{sig.signer} signed {batch[n].tx.id} with a key {old.reason} at {old.retired_at}, "
                                f"which signs nothing from then on: sign again with {sig.signer}'s current key"
                            )
        return checked

    def _signers_now(self, signed: SignedTx) -> frozenset[str]:
        """Every check of a transaction's signatures, run here and now, one by one (the rare path of a rotated key)."""
        checks: list[Check] = []
        start, count, refusal = self._signature_checks(signed, checks)  # the checks that need no arithmetic first
        for n, (key, payload, raw) in enumerate(checks[start : start + count]):
            if not signature_holds(public_key_from_bytes(key), payload, b64url(raw)):
                raise BadSignature(f"the signature of {signed.signatures[n].signer} on {signed.tx.id} does not verify")
        if refusal is not None:
            raise refusal
        return frozenset(s.signer for s in signed.signatures)

    def _load_participants(self, uow: UnitOfWork | None = None) -> None:
        # Participants are never changed once registered, so this cache is only ever stale by omission;
        # keys may be rotated by another process, which _recheck_keys catches inside the write transaction.
        found = uow.participants() if uow is not None else self.store.reading(lambda u: u.participants())
        for p in found:
            self._participants[p.id] = p
            self._keys[p.id] = public_key_from_bytes(p.public_key)

    def _participant(self, pid: str, uow: UnitOfWork) -> Participant:
        found = self._participants.get(pid)
        if found is None:
            self._load_participants(uow)
            found = self._participants.get(pid)
            if found is None:
                raise UnknownParticipant(f"no participant {pid}")
        return found

    def _asset(self, code: str, uow: UnitOfWork) -> Asset:
        asset = self._assets.get(code)
        if asset is None:
            for a in uow.assets():
                self._assets[a.code] = a
            asset = self._assets.get(code)
            if asset is None:
                raise UnknownAsset(f"no asset {code}")
        return asset

    # -- the write transaction ------------------------------------------
    def _expire_some(self, uow: UnitOfWork) -> list[Outcome]:
        uow.head(lock=True)  # queue behind other writers before reading the clock and the due holds
        now = chain.iso(self.clock())
        due = uow.expired_holds(now)
        batch = []
        for hold_id in due:
            tx = Tx(ledger=self.ledger_id, id=expiry_id(hold_id), kind=EXPIRE, legs=(), ref=hold_id)
            batch.append(SignedTx(tx=tx, signatures=(), canonical=canonical_bytes(tx.to_wire())))
        return self._apply(uow, batch, [frozenset()] * len(batch), system=True, now=now)

    def _apply(
        self,
        uow: UnitOfWork,
        batch: Sequence[SignedTx],
        signers: Sequence[frozenset[str] | LedgerError],
        system: bool,
        now: str | None = None,
        opens: Sequence[AccountToOpen] = (),
    ) -> list[Outcome]:
        # The chain head's row lock comes first: on PostgreSQL (READ COMMITTED) every
        # writer queues on it, so everything read below (committed ids, hold states,
        # reversals, counters) already includes what the writer before us committed,
        # and the commit time is read after the wait (``at`` follows ``seq``).
        seq, prev = uow.head(lock=True)
        signers = self._recheck_keys(uow, batch, signers)
        now = now or chain.iso(self.clock())
        committed = uow.entries_by_id(s.tx.id for s in batch)
        hold_refs = {s.tx.ref for s in batch if s.tx.kind in (POST, VOID, EXPIRE) and s.tx.ref}
        reversal_refs = {s.tx.ref for s in batch if s.tx.kind == REVERSAL and s.tx.ref}
        holds = uow.holds(hold_refs) if hold_refs else {}
        originals = uow.entry_legs(reversal_refs) if reversal_refs else {}
        reversed_already = uow.reversed_refs(reversal_refs) if reversal_refs else set()
        touched = {a for s in batch for leg in s.tx.legs for a in (leg.debit, leg.credit)}
        touched.update(a for h in holds.values() for leg in h.legs for a in (leg.debit, leg.credit))
        accounts = uow.accounts(touched, lock=True)
        # Accounts to open with the transaction: checked now, written only if something is accepted.
        created = [new_account(uow, *spec) for spec in opens]
        created = [a for a in created if a.id not in accounts and not uow.accounts([a.id])]
        accounts.update((a.id, a) for a in created)
        backing = self._backing_issuers(accounts.values(), uow)
        if backing:
            # The reserve rule needs every reserve and issuance account of these issuers.
            extra = set(uow.reserve_and_issuance_accounts(backing)) - set(accounts)
            accounts.update(uow.accounts(extra, lock=True))
        # The control state this chunk's rules read, loaded up front (they do no I/O).
        hold_at = {h: e.at for h, e in uow.entries_by_id(holds).items()} if holds else {}
        keys = needs(
            {self._participant(a.owner, uow) for a in accounts.values()},
            {self._asset(a.asset, uow) for a in accounts.values()},
            {s.tx.quote.id for s in batch if s.tx.quote is not None},
            now,
            hold_at.values(),
            self.flow_policy,
        )
        state = _State(
            accounts=accounts,
            holds=holds,
            originals=originals,
            reversed=reversed_already,
            controls=uow.control_state(keys, self.flow_policy),
            hold_at=hold_at,
        )
        outcomes: list[Outcome] = []
        for signed, who in zip(batch, signers, strict=True):
            if isinstance(who, LedgerError):
                outcomes.append(who)
                self._record_refusal(signed, who, state, now)
                continue
            known = committed.get(signed.tx.id) or state.entries.get(signed.tx.id)
            digest = chain.digest(signed.canonical)
            if known is not None:
                outcomes.append(_duplicate(known, digest))
                continue
            try:
                effect = self._effect(signed.tx, who, state, now, system, uow)
            except LedgerError as exc:
                outcomes.append(exc)
                self._record_refusal(signed, exc, state, now)
                continue
            seq += 1
            # Every signer is registered and every sig verified text: plain JSON.
            signatures = canonical_bytes([s.to_wire() for s in signed.signatures], plain=True)
            envelope = chain.envelope_bytes(seq, now, signed.canonical, signatures)
            prev = chain.next_hash(prev, envelope)
            status = "pending" if signed.tx.kind == HOLD else "posted"
            state.commit(effect)
            if effect.controls:
                state.controls.apply(effect.controls, seq, signed.tx.id, now)
                state.control_rows.extend(effect.controls.rows(seq, signed.tx.id))
            state.new_entries.append(
                NewEntry(
                    seq=seq,
                    id=signed.tx.id,
                    kind=signed.tx.kind,
                    ref=signed.tx.ref,
                    at=now,
                    body=signed.canonical.decode(),
                    signatures=signatures.decode(),
                    digest=digest,
                    hash=prev,
                    legs=signed.tx.legs,
                    pending=signed.tx.kind == HOLD,
                )
            )
            info = EntryInfo(signed.tx.id, seq, signed.tx.kind, now, digest, prev, status)
            state.entries[signed.tx.id] = info
            if signed.tx.kind == HOLD:
                expires = chain.expiry(now, signed.tx.timeout_s or 0)
                state.new_holds.append((signed.tx.id, expires))
                state.holds[signed.tx.id] = HoldState(signed.tx.id, seq, "pending", expires, signed.tx.legs)
                state.hold_at[signed.tx.id] = now
            state.originals[signed.tx.id] = (signed.tx.kind, signed.tx.legs)
            outcomes.append(Receipt(signed.tx.id, seq, prev, now, status))
        if state.new_entries:
            for account in created:
                uow.add_account(account)
        uow.append(
            state.new_entries,
            state.changed_accounts(),
            state.new_holds,
            state.finished_holds,
            (seq, prev),
        )
        uow.append_control_rows(state.control_rows)
        uow.append_controls((), (), (), state.rejections)
        return outcomes

    def _record_refusal(self, signed: SignedTx, error: LedgerError, state: _State, now: str) -> None:
        """Keep who tried what and why it was refused (refusals by a rule, not malformed input)."""
        if not isinstance(error, RuleRefusal):
            return
        tx = signed.tx
        legs = tx.legs or (state.holds[tx.ref].legs if tx.ref in state.holds else ())
        debtors = {state.accounts[leg.debit].owner for leg in legs if leg.debit in state.accounts}
        # Who tried: the customers among the debtors (not the issuer and dealer who co-sign a send), else every debtor.
        customers = {d for d in debtors if d in self._participants and self._participants[d].kind in CUSTOMER_KINDS}
        who = ",".join(sorted(customers or debtors) or sorted(s.signer for s in signed.signatures)) or "unknown"
        moves = [
            f"{format_amount(leg.amount, self._assets[leg.asset].exponent) if leg.asset in self._assets else leg.amount} "
            f"{leg.asset} {leg.debit} -> {leg.credit}"
            for leg in legs[:4]
        ]
        what = f"{tx.kind} {tx.id}" + (f": {'; '.join(moves)}" if moves else "") + (" ..." if len(legs) > 4 else "")
        state.rejections.append(Refusal(now, who, tx.id, tx.kind, what[:2000], error.code, error.message[:2000]))

    def _views(self, legs: Sequence[Leg], state: _State, uow: UnitOfWork) -> list[LegView]:
        views = []
        for leg in legs:
            debit, credit = state.accounts[leg.debit], state.accounts[leg.credit]
            views.append(
                LegView(
                    leg=leg,
                    asset=self._asset(leg.asset, uow),
                    debit=debit,
                    credit=credit,
                    debtor=self._participant(debit.owner, uow),
                    creditor=self._participant(credit.owner, uow),
                )
            )
        return views

    # -- validate, authorize and check one transaction ---------------------
    def _effect(
        self, tx: Tx, signers: frozenset[str], state: _State, now: str, system: bool, uow: UnitOfWork
    ) -> _Effect:
        kind = tx.kind
        if kind in (POST, VOID, EXPIRE):
            return self._finish_hold(tx, signers, state, now, system, uow)
        legs = self._checked_legs(tx.legs, state, uow)
        self._require_debtors(tx, legs, signers, state)
        self._check_holders(legs, state, uow)
        views = self._views(legs, state, uow)
        effect = _Effect()
        if kind == HOLD:
            for leg in legs:
                effect.add(leg.debit, dq=leg.amount)
                effect.add(leg.credit, cq=leg.amount)
        else:
            if kind == REVERSAL:
                self._check_reversal(tx, state)
                effect.reverses = tx.ref
            elif kind not in PLAIN_KINDS:  # pragma: no cover - the wire module refuses other kinds
                raise BadInput(f"unknown kind {kind}")
            for leg in legs:
                effect.add(leg.debit, dp=leg.amount)
                effect.add(leg.credit, cp=leg.amount)
        self._check_funds(effect, state, uow)
        self._check_reserves(effect, state, uow)
        effect.controls = self.controls.check(state.controls, tx, views, signers, now)
        return effect

    def _checked_legs(self, legs: Sequence[Leg], state: _State, uow: UnitOfWork) -> Sequence[Leg]:
        for n, leg in enumerate(legs, 1):
            self._asset(leg.asset, uow)
            for side, account_id in (("debit", leg.debit), ("credit", leg.credit)):
                account = state.accounts.get(account_id)
                if account is None:
                    raise UnknownAccount(f"no account {account_id}")
                if account.asset != leg.asset:
                    raise AssetMismatch(
                        f"leg {n} moves {leg.asset} but its {side} account {account_id} holds {account.asset}"
                    )
        return legs

    def _check_holders(self, legs: Sequence[Leg], state: _State, uow: UnitOfWork) -> None:
        for leg in legs:
            asset = self._asset(leg.asset, uow)
            if asset.kind in (DEPOSIT_TOKEN, WHOLESALE_CBDC):
                holder = self._participant(state.accounts[leg.credit].owner, uow)
                require_may_hold(holder, asset, self._participant(asset.issuer, uow))

    def _require_debtors(self, tx: Tx, legs: Sequence[Leg], signers: frozenset[str], state: _State) -> None:
        debtors = {state.accounts[leg.debit].owner for leg in legs}
        missing = sorted(debtors - signers)
        if missing:
            raise NotAuthorized(f"{tx.id} debits accounts of {', '.join(missing)}, who did not sign it")

    def _check_reversal(self, tx: Tx, state: _State) -> None:
        ref = tx.ref or ""
        original = state.originals.get(ref)
        if original is None:
            raise UnknownTransaction(f"no transaction {ref} to reverse")
        kind, legs = original
        if kind not in PLAIN_KINDS + (POST, REVERSAL):
            raise BadInput(f"{ref} is a {kind}; only transfers and posts are reversed (void a hold instead)")
        if ref in state.reversed:
            raise AlreadyReversed(f"{ref} has already been reversed")
        mirror = tuple(Leg(leg.credit, leg.debit, leg.asset, leg.amount) for leg in legs)
        if tuple(tx.legs) != mirror:
            raise BadInput(f"a reversal of {ref} must move exactly its legs back, in order")

    def _finish_hold(
        self, tx: Tx, signers: frozenset[str], state: _State, now: str, system: bool, uow: UnitOfWork
    ) -> _Effect:
        hold = state.holds.get(tx.ref or "")
        if hold is None:
            raise UnknownTransaction(f"no hold {tx.ref}")
        if hold.status != "pending":
            if hold.finished_by and hold.finished_by.startswith("_expire:"):
                raise HoldExpired(f"hold {hold.id} expired at {hold.expires_at} and was voided")
            raise HoldNotPending(f"hold {hold.id} is already {hold.status}")
        if tx.kind == EXPIRE:
            if not system or hold.expires_at > now:
                raise BadInput("only the ledger expires a hold, and only after its timeout")
        else:
            if hold.expires_at <= now:
                raise HoldExpired(f"hold {hold.id} expired at {hold.expires_at}")
            debtors = {state.accounts[leg.debit].owner for leg in hold.legs}
            creditors = {state.accounts[leg.credit].owner for leg in hold.legs}
            if not (debtors <= signers or creditors <= signers):
                raise NotAuthorized(
                    f"finishing hold {hold.id} needs the signatures of its debtors "
                    f"({', '.join(sorted(debtors))}) or of its creditors ({', '.join(sorted(creditors))})"
                )
        effect = _Effect()
        for leg in hold.legs:
            effect.add(leg.debit, dq=-leg.amount)
            effect.add(leg.credit, cq=-leg.amount)
        if tx.kind == POST:
            if len(tx.legs) != len(hold.legs):
                raise BadInput(f"a post of {hold.id} must have its {len(hold.legs)} leg(s)")
            if len(hold.legs) > 1 and tuple(tx.legs) != tuple(hold.legs):
                # A hold of several legs (a two-phase PvP) settles whole or not at all.
                raise BadInput(f"hold {hold.id} has {len(hold.legs)} legs: post all of it, in full, or void it")
            for n, (posted, held) in enumerate(zip(tx.legs, hold.legs, strict=True), 1):
                if (posted.debit, posted.credit, posted.asset) != (held.debit, held.credit, held.asset):
                    raise BadInput(f"leg {n} of the post does not match leg {n} of hold {hold.id}")
                if posted.amount > held.amount:
                    exponent = self._asset(held.asset, uow).exponent
                    raise BadAmount(
                        f"cannot post {format_amount(posted.amount, exponent)} {held.asset}: "
                        f"hold {hold.id} holds {format_amount(held.amount, exponent)}"
                    )
                effect.add(posted.debit, dp=posted.amount)
                effect.add(posted.credit, cp=posted.amount)
        effect.finishes = (hold.id, "posted" if tx.kind == POST else "voided", tx.id)
        self._check_funds(effect, state, uow)
        self._check_reserves(effect, state, uow)
        posted_legs = tx.legs if tx.kind == POST else ()
        effect.controls = self.controls.release(
            state.controls, hold.id, self._views(hold.legs, state, uow), self._views(posted_legs, state, uow), state.hold_at[hold.id], now
        )
        return effect

    def _backing_issuers(self, accounts: Iterable[Account], uow: UnitOfWork) -> set[str]:
        """Issuers whose stablecoin supply or reserve these accounts are part of."""
        found = set()
        for a in accounts:
            if RESERVE in a.flags:
                found.add(a.owner)
            elif ISSUANCE in a.flags and self._asset(a.asset, uow).kind == STABLECOIN:
                found.add(a.owner)
        return found

    def _check_reserves(self, effect: _Effect, state: _State, uow: UnitOfWork) -> None:
        """Every issuer whose supply or reserve this changes stays fully reserved."""
        changed = [state.accounts[a] for a in effect.deltas]
        issuers = self._backing_issuers(changed, uow)
        if not issuers:
            return
        registered: dict[str, str] | None = None
        supply: dict[tuple[str, str], int] = {}
        reserve: dict[tuple[str, str], int] = {}
        exponents: dict[tuple[str, str], int] = {}
        for account in state.accounts.values():
            if account.owner not in issuers:
                continue
            asset = self._asset(account.asset, uow)
            dp, cp, dq, _ = (now + d for now, d in zip(state.counters(account.id), effect.deltas.get(account.id, (0, 0, 0, 0)), strict=True))
            key = (account.owner, asset.currency)
            if ISSUANCE in account.flags and asset.kind == STABLECOIN:
                issued = dp - cp + dq  # outstanding, pending mints included
                if account.id in effect.deltas and effect.deltas[account.id][0] + effect.deltas[account.id][2] > 0:
                    registered = registered if registered is not None else uow.issuers()
                    if registered.get(asset.code) != account.owner:
                        raise IssuerNotRegistered(f"{account.owner} is not a registered issuer of {asset.code}")
                supply[key] = supply.get(key, 0) + at_scale(issued, asset.exponent)
                exponents[key] = asset.exponent
            elif RESERVE in account.flags:
                reserve[key] = reserve.get(key, 0) + at_scale(cp - dp - dq, asset.exponent)
        for key, issued in supply.items():
            require_full_reserve(key[0], key[1], issued, reserve.get(key, 0), exponents[key])

    def _check_funds(self, effect: _Effect, state: _State, uow: UnitOfWork) -> None:
        for account_id, delta in effect.deltas.items():
            account = state.accounts[account_id]
            counters = state.counters(account_id)
            dp, cp, dq, cq = (counters[0] + delta[0], counters[1] + delta[1], counters[2] + delta[2], counters[3] + delta[3])
            if max(dp, cp, dq, cq) > MAX_COUNTER:
                raise BadAmount(f"{account_id} would pass the 64-bit limit of its counters")
            if not account.may_overdraw:
                available = cp - dp - dq
                if available < 0:
                    exponent = self._asset(account.asset, uow).exponent
                    before = state.available(account_id)
                    raise InsufficientFunds(
                        f"{account_id} has {format_amount(before, exponent)} {account.asset} available; "
                        f"this needs {format_amount(before - available, exponent)}"
                    )


@dataclass(slots=True)
class _Effect:
    """What one transaction would do to counters and holds, before it is kept."""

    deltas: dict[str, list[int]] = field(default_factory=dict)
    finishes: tuple[str, str, str] | None = None
    reverses: str | None = None
    controls: ControlEffect | None = None

    def add(self, account: str, dp: int = 0, cp: int = 0, dq: int = 0, cq: int = 0) -> None:
        d = self.deltas.setdefault(account, [0, 0, 0, 0])
        d[0] += dp
        d[1] += cp
        d[2] += dq
        d[3] += cq


@dataclass(slots=True)
class _State:
    """The chunk's view of the ledger: loaded rows plus what earlier items did."""

    accounts: dict[str, Account]
    holds: dict[str, HoldState]
    originals: dict[str, tuple[str, tuple[Leg, ...]]]
    reversed: set[str]
    controls: ControlState
    #: when each hold of the chunk was made (what a hold counted gives back into that period)
    hold_at: dict[str, str] = field(default_factory=dict)
    control_rows: ControlRows = field(default_factory=ControlRows)
    rejections: list[Refusal] = field(default_factory=list)
    entries: dict[str, EntryInfo] = field(default_factory=dict)
    new_entries: list[NewEntry] = field(default_factory=list)
    new_holds: list[tuple[str, str]] = field(default_factory=list)
    finished_holds: list[tuple[str, str, str]] = field(default_factory=list)
    _counters: dict[str, list[int]] = field(default_factory=dict)

    def counters(self, account_id: str) -> list[int]:
        c = self._counters.get(account_id)
        if c is None:
            a = self.accounts[account_id]
            c = self._counters[account_id] = [a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending]
        return c

    def available(self, account_id: str) -> int:
        dp, cp, dq, _ = self.counters(account_id)
        return cp - dp - dq

    def commit(self, effect: _Effect) -> None:
        for account_id, delta in effect.deltas.items():
            c = self.counters(account_id)
            for i in range(4):
                c[i] += delta[i]
        if effect.finishes:
            hold_id, status, by = effect.finishes
            self.finished_holds.append(effect.finishes)
            self.holds[hold_id] = replace(self.holds[hold_id], status=status, finished_by=by)
        if effect.reverses:
            self.reversed.add(effect.reverses)

    def changed_accounts(self) -> list[Account]:
        out = []
        for account_id, (dp, cp, dq, cq) in sorted(self._counters.items()):
            a = self.accounts[account_id]
            if (dp, cp, dq, cq) != (a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending):
                out.append(replace(a, debits_posted=dp, credits_posted=cp, debits_pending=dq, credits_pending=cq))
        return out


def _duplicate(known: EntryInfo, digest: str) -> Outcome:
    if known.digest != digest:
        return DuplicateConflict(f"{known.id} was already used for a different transaction (seq {known.seq})")
    return Receipt(known.id, known.seq, known.hash, known.at, known.status, duplicate=True)
