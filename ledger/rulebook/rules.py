"""The rulebook: what every journal entry must satisfy, and what it changes.

There is one definition of every rule, and it is this module. The book runs
it on each entry submitted; ``verify`` runs it again on each entry stored,
from the first, and compares what it rebuilds with every table the book
keeps. The rulebook is pure: it reads a :class:`LedgerState` held in memory
(the book loads the part a chunk needs, under the chain-head lock; verify
builds the whole of it as it replays), and it returns an :class:`Effect`
that :meth:`LedgerState.apply` keeps. It never reads the database, the
clock or a key file.

For each entry, in order:

1. **keys**: every signature verified under a key; that key must be the
   signer's registered key at the entry's commit time (a retired key signs
   nothing), or, for a registration or a rotation, the new key the entry
   itself carries (proof of possession);
2. **registry** (entries of kind ``register``, ``asset``, ``issuer``,
   ``key``, ``open``, and the ``opens`` of any entry): who may vouch for
   whom, per :class:`wonledger.rulebook.policy.RegistryPolicy`;
3. **authority**: everyone :func:`required_signers` names signed; a post or
   void is signed by all of its hold's debtors or all of its creditors; a
   conditional hold's fulfil by anyone registered (the preimage is the
   authority), its reject by all of its creditors;
4. **legs and policy**: accounts and assets exist and agree, holders may
   hold, no overdraft, counters within 64 bits, holds pending and
   unexpired, posts within their hold, reversals exact and once, full and
   real reserves, and the capital-flow controls of :mod:`wonledger.rulebook.controls`.

A refused entry raises the refusal and changes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from wonledger.domain import chain
from wonledger.domain.errors import (
    AlreadyExists,
    AlreadyReversed,
    AssetMismatch,
    BadAmount,
    BadInput,
    BadSignature,
    ConditionNotMet,
    HoldExpired,
    HoldNotPending,
    InsufficientFunds,
    IntegrityProblem,
    IssuerNotRegistered,
    NotAuthorized,
    UnknownAccount,
    UnknownAsset,
    UnknownParticipant,
    UnknownTransaction,
)
from wonledger.domain.model import (
    EXPIRE,
    FULFIL,
    GENESIS,
    HOLD,
    ISSUANCE,
    KEY,
    MAX_TIMEOUT_S,
    NEW_ASSET,
    NEW_ISSUER,
    NEW_KEY,
    NO_OVERDRAFT,
    OPEN,
    PLAIN_KINDS,
    POST,
    REGISTER,
    REGISTRY_KINDS,
    REJECT,
    RESERVE,
    REVERSAL,
    ROTATED,
    VOID,
    Account,
    AccountSpec,
    AssetSpec,
    HoldState,
    IssuerSpec,
    KeyRecord,
    KeySpec,
    Leg,
    Participant,
    Registration,
    Tx,
    account_id,
    key_in_force,
    released_legs,
)
from wonledger.domain.money import MAX_COUNTER, Asset, format_amount
from wonledger.domain.signing import unb64url
from wonledger.rulebook.controls import ControlRows, Controls, ControlState, LegView
from wonledger.rulebook.genesis import GENESIS_ID, read_snapshot, require_makeable
from wonledger.rulebook.policy import (
    CUSTOMER_KINDS,
    DEPOSIT_TOKEN,
    STABLECOIN,
    WHOLESALE_CBDC,
    FlowPolicy,
    IssuerPolicy,
    RegistryPolicy,
    at_scale,
    load_flow_policy,
    load_issuer_policy,
    load_registry_policy,
    require_eligible,
    require_full_reserve,
    require_may_hold,
    require_reserve_eligible,
    reserve_counts,
)


@dataclass(slots=True)
class LedgerState:
    """What the rules read: the registry, accounts with their counters, holds, reversals, controls.

    In the book it holds what one chunk needs; in verify, everything the
    journal has built so far. ``apply`` keeps an accepted entry's effect and
    notes what changed, for the book to write.
    """

    ledger_id: str
    participants: dict[str, Participant] = field(default_factory=dict)
    keys: dict[str, list[KeyRecord]] = field(default_factory=dict)
    assets: dict[str, Asset] = field(default_factory=dict)
    issuers: dict[str, str] = field(default_factory=dict)
    accounts: dict[str, Account] = field(default_factory=dict)
    holds: dict[str, HoldState] = field(default_factory=dict)
    #: kind and legs of the entries a reversal may name
    originals: dict[str, tuple[str, tuple[Leg, ...]]] = field(default_factory=dict)
    reversed: set[str] = field(default_factory=set)
    #: the capital-flow controls' figures (:mod:`wonledger.rulebook.controls`); None where no control is applied
    controls: ControlState | None = None
    #: whether the controls refuse (False: a replay of entries an older wonledger accepted only measures them)
    enforce_controls: bool = True
    #: whether ``apply`` remembers every entry's legs for later reversals (verify loads them when needed instead)
    keep_originals: bool = True
    #: whether a signed registry entry (or an entry opening accounts) is in the journal so far: no genesis may follow one
    registry_signed: bool = False
    #: whether the journal so far has its genesis entry (a ledger has one at most)
    genesis_seen: bool = False
    counters: dict[str, list[int]] = field(default_factory=dict)
    #: reserve and stablecoin-issuance accounts by issuer (what full reserve compares)
    backing: dict[str, set[str]] = field(default_factory=dict)
    # What changed, for the book to persist:
    new_participants: list[Participant] = field(default_factory=list)
    new_keys: list[KeyRecord] = field(default_factory=list)
    retired_keys: list[KeyRecord] = field(default_factory=list)
    new_assets: list[Asset] = field(default_factory=list)
    new_issuers: list[tuple[str, str, str]] = field(default_factory=list)
    new_accounts: list[Account] = field(default_factory=list)
    new_holds: list[HoldState] = field(default_factory=list)
    finished_holds: list[tuple[str, str, str]] = field(default_factory=list)
    control_rows: ControlRows = field(default_factory=ControlRows)

    # -- reading --------------------------------------------------------------
    def counters_of(self, account: str) -> list[int]:
        c = self.counters.get(account)
        if c is None:
            a = self.accounts[account]
            c = self.counters[account] = [a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending]
        return c

    def key_at(self, participant: str, at: str) -> KeyRecord | None:
        """The key that signs for ``participant`` at commit time ``at`` (a retired key signs nothing from its retirement)."""
        return key_in_force(self.keys.get(participant, ()), at)

    def public_key_at(self, participant: str, at: str) -> bytes | None:
        """The public key that signs for ``participant`` at commit time ``at`` (None: no key then)."""
        record = self.key_at(participant, at)
        return record.public_key if record is not None else None

    def current_key(self, participant: str) -> KeyRecord | None:
        history = self.keys.get(participant)
        if not history:
            return None
        last = history[-1]
        return last if last.retired_at is None else None

    def add_account(self, account: Account) -> None:
        """An account the state knows (loaded or opened), indexed for the reserve rule."""
        self.accounts[account.id] = account
        asset = self.assets.get(account.asset)
        if RESERVE in account.flags or (ISSUANCE in account.flags and asset is not None and asset.kind == STABLECOIN):
            self.backing.setdefault(account.owner, set()).add(account.id)

    def changed_accounts(self) -> list[Account]:
        """Accounts whose counters differ from what was loaded (new accounts included, at their counters)."""
        out = []
        for account_id_, (dp, cp, dq, cq) in sorted(self.counters.items()):
            a = self.accounts[account_id_]
            if (dp, cp, dq, cq) != (a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending):
                out.append(replace(a, debits_posted=dp, credits_posted=cp, debits_pending=dq, credits_pending=cq))
        return out

    def snapshot_accounts(self) -> dict[str, Account]:
        """Every account with its counters as they stand (verify compares these with the stored ones)."""
        out = {}
        for aid, a in self.accounts.items():
            c = self.counters.get(aid)
            out[aid] = a if c is None else replace(a, debits_posted=c[0], credits_posted=c[1], debits_pending=c[2], credits_pending=c[3])
        return out

    # -- keeping ------------------------------------------------------------------
    def apply(self, effect: Effect, tx: Tx, seq: int, now: str) -> None:
        """Keep an accepted entry's effect."""
        if effect.participant is not None:
            p = effect.participant
            self.participants[p.id] = p
            self.new_participants.append(p)
            record = KeyRecord(p.id, p.public_key, now)
            self.keys[p.id] = [record]
            self.new_keys.append(record)
        if effect.key is not None:
            new = replace(effect.key, valid_from=now)
            history = self.keys[new.participant]
            retired = replace(history[-1], retired_at=now, reason=effect.key_reason)
            history[-1] = retired
            history.append(new)
            self.retired_keys.append(retired)
            self.new_keys.append(new)
            self.participants[new.participant] = replace(self.participants[new.participant], public_key=new.public_key)
        if effect.asset is not None:
            self.assets[effect.asset.code] = effect.asset
            self.new_assets.append(effect.asset)
        if effect.issuer is not None:
            self.issuers[effect.issuer[0]] = effect.issuer[1]
            self.new_issuers.append((effect.issuer[0], effect.issuer[1], now))
        for account in effect.opened.values():
            self.add_account(account)
            self.counters[account.id] = [0, 0, 0, 0]
            self.new_accounts.append(account)
        for aid, (dp, cp, dq, cq) in effect.deltas.items():
            c = self.counters_of(aid)
            c[0] += dp
            c[1] += cp
            c[2] += dq
            c[3] += cq
        if effect.finishes:
            hold_id, status, by = effect.finishes
            self.finished_holds.append(effect.finishes)
            self.holds[hold_id] = replace(self.holds[hold_id], status=status, finished_by=by)
        if effect.reverses:
            self.reversed.add(effect.reverses)
        if tx.kind == HOLD:
            expires_at = tx.deadline if tx.deadline is not None else chain.expiry(now, tx.timeout_s or 0)
            hold = HoldState(
                tx.id, seq, "pending", expires_at, tx.legs, at=now, quoted=tx.quote is not None,
                condition=tx.condition, partner=tx.partner, travel=tx.travel if tx.condition is not None else None,
            )
            self.holds[tx.id] = hold
            self.new_holds.append(hold)
        if tx.legs and self.keep_originals:
            self.originals[tx.id] = (tx.kind, tx.legs)
        if tx.kind in REGISTRY_KINDS or tx.opens:
            self.registry_signed = True
        elif tx.kind == GENESIS:
            self.genesis_seen = True
        if effect.controls and self.controls is not None:
            self.controls.apply(effect.controls, seq, tx.id, now)
            self.control_rows.extend(effect.controls.rows(seq, tx.id))


@dataclass(slots=True)
class Effect:
    """What one entry would change, before it is kept."""

    deltas: dict[str, list[int]] = field(default_factory=dict)
    opened: dict[str, Account] = field(default_factory=dict)
    finishes: tuple[str, str, str] | None = None
    reverses: str | None = None
    participant: Participant | None = None
    key: KeyRecord | None = None
    key_reason: str | None = None
    asset: Asset | None = None
    issuer: tuple[str, str] | None = None
    controls: Any = None
    #: what the end of a hold (post, void, expiry) gave back of it, leg by leg, in its order (fee legs kept apart)
    released: tuple[Leg, ...] = ()

    def add(self, account: str, dp: int = 0, cp: int = 0, dq: int = 0, cq: int = 0) -> None:
        d = self.deltas.setdefault(account, [0, 0, 0, 0])
        d[0] += dp
        d[1] += cp
        d[2] += dq
        d[3] += cq


class Rulebook:
    """Decides entries against a :class:`LedgerState`; holds only the policy."""

    def __init__(self, registry: RegistryPolicy, issuers: IssuerPolicy, flows: FlowPolicy) -> None:
        self.registry = registry
        self.issuer_policy = issuers
        self.flow_policy = flows
        #: the capital-flow rules: pure, over the state's ControlState
        self.controls = Controls(flows)

    @classmethod
    def from_policy(cls) -> Rulebook:
        """The rulebook of this ledger's policy files: what the book decides with and every replay replays with."""
        return cls(load_registry_policy(), load_issuer_policy(), load_flow_policy())

    # -- the decision -----------------------------------------------------------
    def decide(self, state: LedgerState, tx: Tx, signers: Mapping[str, bytes], now: str, system: bool = False) -> Effect:
        """What ``tx``, signed by ``signers`` (name → the key each signature verified under), would change at ``now``.

        Raises the refusal; changes nothing.
        """
        if tx.ledger != state.ledger_id:
            raise BadSignature(f"{tx.id} is signed for ledger {tx.ledger}, not this ledger {state.ledger_id}")
        if tx.kind in (EXPIRE, GENESIS) and not system:
            raise BadInput(f"a {tx.kind} entry is written by the ledger itself")
        self._check_keys(state, tx, signers, now)
        if tx.kind == GENESIS:
            self._check_genesis(state, tx)
            return Effect()
        if tx.kind in (POST, VOID, EXPIRE, FULFIL, REJECT):
            return self._finish_hold(state, tx, frozenset(s for s in signers if not s.endswith(NEW_KEY)), now)
        effect = Effect()
        view = _View(state, effect)
        if tx.kind in (REGISTER, NEW_ASSET, NEW_ISSUER, KEY):
            self._registry_entry(view, tx)
        for spec in tx.opens:
            self._open(view, spec)
        missing = [name for name in required_signers(tx, view, self.registry) if name not in signers]
        if missing:
            raise NotAuthorized(self._who_signs(tx, sorted(missing), signers))
        if tx.kind in (REGISTER, NEW_ASSET, NEW_ISSUER, KEY, OPEN):
            return effect
        resolved = self._checked_legs(view, tx.legs)
        self._check_holders(view, resolved)
        views = self._leg_views(view, resolved)
        legs = tx.legs
        if state.controls is not None and state.enforce_controls:
            self.controls.check_quote(state.controls, tx, views, now)  # what it is bound to, before what it costs
        if tx.kind == HOLD:
            if tx.deadline is not None:
                self._check_deadline(tx, now)
            for leg in legs:
                effect.add(leg.debit, dq=leg.amount)
                effect.add(leg.credit, cq=leg.amount)
        else:
            if tx.kind == REVERSAL:
                self._check_reversal(state, tx)
                effect.reverses = tx.ref
            elif tx.kind not in PLAIN_KINDS:
                raise BadInput(f"unknown kind {tx.kind}")
            for leg in legs:
                effect.add(leg.debit, dp=leg.amount)
                effect.add(leg.credit, cp=leg.amount)
        self._check_funds(view, effect)
        self._check_reserves(view, effect)
        if state.controls is not None:
            who = [s for s in signers if not s.endswith(NEW_KEY)]
            effect.controls = self.controls.check(state.controls, tx, views, who, now, enforce=state.enforce_controls)
        return effect

    # -- keys -------------------------------------------------------------------------
    def _check_keys(self, state: LedgerState, tx: Tx, signers: Mapping[str, bytes], now: str) -> None:
        """Each signature was verified under the key its signer has now (or the entry's new key)."""
        for name, key in signers.items():
            if name.endswith(NEW_KEY):
                subject = tx.subject
                if not (tx.kind == KEY and isinstance(subject, KeySpec) and name == subject.participant + NEW_KEY):
                    raise BadSignature(f"{tx.id}: a signature with a new key belongs only to a key rotation")
                if key != unb64url(subject.public_key):
                    raise BadSignature(f"the second signature of {subject.participant} is not made with the new key")
                continue
            if tx.kind == REGISTER and isinstance(tx.subject, Registration) and name == tx.subject.id:
                if name in state.participants:
                    raise AlreadyExists(f"participant {name} already exists")
                if key != unb64url(tx.subject.public_key):
                    raise BadSignature(f"{name}'s signature is not made with the key it registers")
                continue
            current = state.key_at(name, now)
            if current is None:
                if name in state.keys:
                    raise BadSignature(f"{name} has no key that signs")
                raise BadSignature(f"{name} is not a registered participant, so cannot sign")
            if current.public_key != key:
                old = next((k for k in state.keys[name] if k.public_key == key and k.retired_at is not None), None)
                if old is not None:
                    raise BadSignature(
                        f"{name} signed {tx.id} with a key {old.reason} at {old.retired_at}, which signs nothing "
                        f"from then on: sign again with {name}'s current key"
                    )
                raise BadSignature(f"the signature of {name} on {tx.id} is not made with {name}'s registered key")

    def _check_genesis(self, state: LedgerState, tx: Tx) -> None:
        """A genesis sits where an upgrade puts it, once, and freezes only what signed entries could have made (:mod:`.genesis`)."""
        if tx.id != GENESIS_ID:
            raise IntegrityProblem(f"{tx.id}: a genesis entry has the id {GENESIS_ID}")
        if state.genesis_seen:
            raise IntegrityProblem(f"{tx.id}: a ledger has one genesis entry at most, and this one has had it")
        if state.registry_signed:
            raise IntegrityProblem(
                f"{tx.id} comes after signed registry entries: a genesis freezes the registry of a ledger made before "
                "registry entries were signed, and an upgrade writes it before any of them"
            )
        if tx.legs or tx.opens:
            raise IntegrityProblem(f"{tx.id}: a genesis entry moves and opens nothing")
        require_makeable(read_snapshot(tx.snapshot), self.registry, self.issuer_policy, self.flow_policy)

    def _who_signs(self, tx: Tx, missing: list[str], signers: Mapping[str, bytes]) -> str:
        signed = ", ".join(sorted(s for s in signers if not s.endswith(NEW_KEY))) or "nobody"
        shown = [m.replace(NEW_KEY, " (with the new key)") for m in missing]
        if tx.kind in (REGISTER, NEW_ASSET, NEW_ISSUER, KEY, OPEN) or tx.opens:
            return f"{tx.id} ({tx.kind}) must also be signed by {', '.join(shown)}; it was signed by {signed}"
        return f"{tx.id} debits accounts of {', '.join(shown)}, who did not sign it"

    # -- the registry ----------------------------------------------------------------
    def _registry_entry(self, view: _View, tx: Tx) -> None:
        subject = tx.subject
        effect, state = view.effect, view.state
        if isinstance(subject, Registration):
            if subject.id in state.participants:
                raise AlreadyExists(f"participant {subject.id} already exists")
            self.registry.require_registrar(subject, view.participant_or_none(subject.registrar))
            effect.participant = Participant(
                subject.id, subject.kind, subject.jurisdiction, subject.resident, unb64url(subject.public_key), subject.registrar
            )
        elif isinstance(subject, AssetSpec):
            if subject.code in state.assets:
                raise AlreadyExists(f"asset {subject.code} already exists")
            issuer = view.participant(subject.issuer)
            self.registry.require_asset_issuer(subject, issuer)
            self._new_asset(view, Asset(subject.code, subject.currency, subject.kind, subject.exponent, subject.issuer))
        elif isinstance(subject, IssuerSpec):
            candidate = view.participant(subject.issuer)
            require_eligible(candidate, self.issuer_policy)
            existing = state.assets.get(subject.asset)
            if existing is None:
                exponent = self.issuer_policy.exponents.get(subject.currency)
                if exponent is None:
                    raise BadInput(f"no exponent for {subject.currency} in policy.toml ({', '.join(sorted(self.issuer_policy.exponents))})")
                self._new_asset(view, Asset(subject.asset, subject.currency, STABLECOIN, exponent, subject.issuer))
            elif existing.kind != STABLECOIN or existing.issuer != subject.issuer or existing.currency != subject.currency:
                raise AlreadyExists(f"asset {subject.asset} exists as a {existing.currency} {existing.kind} of {existing.issuer}")
            if subject.asset in state.issuers:
                raise AlreadyExists(f"{state.issuers[subject.asset]} is already registered for {subject.asset}")
            effect.issuer = (subject.asset, subject.issuer)
        elif isinstance(subject, KeySpec):
            current = state.current_key(subject.participant)
            if current is None:
                view.participant(subject.participant)
                raise BadSignature(f"{subject.participant} has no current key to replace")
            new = unb64url(subject.public_key)
            if new == current.public_key or any(k.public_key == new for k in state.keys[subject.participant]):
                raise BadInput(f"{subject.participant} has had that key already: a new key is new")
            effect.key = KeyRecord(subject.participant, new, "")  # valid from the entry's commit time (apply)
            effect.key_reason = subject.reason

    def _new_asset(self, view: _View, asset: Asset) -> None:
        issuance = account_id(asset.issuer, asset.code)
        if view.account_or_none(issuance) is not None:
            raise AlreadyExists(f"account {issuance} already exists")
        view.effect.asset = asset
        view.effect.opened[issuance] = Account(id=issuance, owner=asset.issuer, asset=asset.code, flags=frozenset({ISSUANCE}))

    def _open(self, view: _View, spec: AccountSpec) -> None:
        if view.account_or_none(spec.id) is not None:
            raise AlreadyExists(f"account {spec.id} already exists")
        holder = view.participant(spec.owner)
        asset = view.asset(spec.asset)
        issuer = view.participant_or_none(asset.issuer)
        if issuer is not None:
            require_may_hold(holder, asset, issuer)
        if spec.reserve:
            if not spec.label:
                raise BadInput("a reserve account needs a label")
            require_reserve_eligible(holder.id, asset, issuers=view.issuers_of(holder.id), policy=self.registry)
        flags = {NO_OVERDRAFT} | ({RESERVE} if spec.reserve else set())
        view.effect.opened[spec.id] = Account(
            id=spec.id, owner=spec.owner, asset=spec.asset, flags=frozenset(flags), label=spec.label
        )

    # -- legs -------------------------------------------------------------------------------
    # Each leg's accounts and asset are looked up once, in _checked_legs, and handed on as
    # (leg, debit account, credit account, asset): verify replays every entry of the journal.
    def _checked_legs(self, view: _View, legs: tuple[Leg, ...]) -> list[tuple[Leg, Account, Account, Asset]]:
        """The legs with their accounts and asset, which exist and agree."""
        out = []
        for n, leg in enumerate(legs, 1):
            asset = view.asset(leg.asset)
            sides = []
            for side, aid in (("debit", leg.debit), ("credit", leg.credit)):
                account = view.account_or_none(aid)
                if account is None:
                    raise UnknownAccount(f"no account {aid}")
                if account.asset != leg.asset:
                    raise AssetMismatch(f"leg {n} moves {leg.asset} but its {side} account {aid} holds {account.asset}")
                sides.append(account)
            out.append((leg, sides[0], sides[1], asset))
        return out

    def _check_holders(self, view: _View, legs: list[tuple[Leg, Account, Account, Asset]]) -> None:
        for _leg, _debit, credit, asset in legs:
            if asset.kind in (DEPOSIT_TOKEN, WHOLESALE_CBDC):
                holder = view.participant(credit.owner)
                require_may_hold(holder, asset, view.participant(asset.issuer))

    def _views(self, view: _View, legs: tuple[Leg, ...]) -> list[LegView]:
        return self._leg_views(view, ((leg, view.account(leg.debit), view.account(leg.credit), view.asset(leg.asset)) for leg in legs))

    def _leg_views(self, view: _View, legs: Iterable[tuple[Leg, Account, Account, Asset]]) -> list[LegView]:
        return [
            LegView(leg=leg, asset=asset, debit=debit, credit=credit, debtor=view.participant(debit.owner), creditor=view.participant(credit.owner))
            for leg, debit, credit, asset in legs
        ]

    def _check_reversal(self, state: LedgerState, tx: Tx) -> None:
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

    @staticmethod
    def _check_deadline(tx: Tx, now: str) -> None:
        """A conditional hold's deadline is after its commit time, and at most as far off as any hold may wait."""
        deadline = tx.deadline or ""
        if deadline <= now:
            raise BadInput(f"{tx.id}'s deadline {deadline} is not after its commit time {now}: a hold past its deadline can only expire")
        if deadline > chain.expiry(now, MAX_TIMEOUT_S):
            raise BadInput(f"{tx.id}'s deadline {deadline} is more than {MAX_TIMEOUT_S // 86400} days after its commit time {now}")

    def _finish_hold(self, state: LedgerState, tx: Tx, signers: frozenset[str], now: str) -> Effect:
        hold = state.holds.get(tx.ref or "")
        if hold is None:
            raise UnknownTransaction(f"no hold {tx.ref}")
        if hold.condition is not None or tx.kind in (FULFIL, REJECT):
            return self._finish_conditional(state, hold, tx, signers, now)
        if hold.status != "pending":
            if hold.finished_by and hold.finished_by.startswith("_expire:"):
                raise HoldExpired(f"hold {hold.id} expired at {hold.expires_at} and was voided")
            raise HoldNotPending(f"hold {hold.id} is already {hold.status}")
        view = _View(state, Effect())
        if tx.kind == EXPIRE:
            if hold.expires_at > now:
                raise BadInput(f"hold {hold.id} expires at {hold.expires_at}, not before")
        else:
            if hold.expires_at <= now:
                raise HoldExpired(f"hold {hold.id} expired at {hold.expires_at}")
            debtors = {view.account(leg.debit).owner for leg in hold.legs}
            creditors = {view.account(leg.credit).owner for leg in hold.legs}
            if not (debtors <= signers or creditors <= signers):
                raise NotAuthorized(
                    f"finishing hold {hold.id} needs the signatures of its debtors "
                    f"({', '.join(sorted(debtors))}) or of its creditors ({', '.join(sorted(creditors))})"
                )
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
                    exponent = view.asset(held.asset).exponent
                    raise BadAmount(
                        f"cannot post {format_amount(posted.amount, exponent)} {held.asset}: "
                        f"hold {hold.id} holds {format_amount(held.amount, exponent)}"
                    )
        elif tx.legs:
            raise BadInput(f"a {tx.kind} moves nothing itself")
        return self._end_hold(view, hold, tx, tx.legs if tx.kind == POST else (), "posted" if tx.kind == POST else "voided", now)

    def _finish_conditional(self, state: LedgerState, hold: HoldState, tx: Tx, signers: frozenset[str], now: str) -> Effect:
        """A conditional hold ends fulfilled (the preimage, whole, before the deadline), rejected (its creditors, before it) or expired (after it)."""
        if hold.condition is None:
            raise BadInput(f"hold {hold.id} has no condition: post or void it (a {tx.kind} ends a conditional hold)")
        if tx.kind in (POST, VOID):
            raise ConditionNotMet(
                f"hold {hold.id} is conditional: it is fulfilled with its preimage or rejected by its creditors "
                f"before {hold.expires_at}, or expires then; it is never {'posted' if tx.kind == POST else 'voided'}"
            )
        if hold.status != "pending":
            if hold.status == "expired":
                raise ConditionNotMet(f"hold {hold.id}'s deadline {hold.expires_at} has passed: it expired ({hold.finished_by})")
            raise HoldNotPending(f"hold {hold.id} is already {hold.status} (by {hold.finished_by})")
        view = _View(state, Effect())
        if tx.kind == EXPIRE:
            if now < hold.expires_at:
                raise ConditionNotMet(f"hold {hold.id}'s deadline is {hold.expires_at}: it does not expire before")
        elif now >= hold.expires_at:
            raise ConditionNotMet(f"hold {hold.id}'s deadline {hold.expires_at} has passed (commit time {now}): it can only expire")
        elif tx.kind == FULFIL:
            if not signers:
                raise NotAuthorized(f"{tx.id}: a fulfil is signed by a registered participant (anyone may relay the preimage)")
            if hashlib.sha256(bytes.fromhex(tx.preimage or "")).hexdigest() != hold.condition:
                raise ConditionNotMet(f"the preimage of {tx.id} does not hash to hold {hold.id}'s condition {hold.condition}")
            if tuple(tx.legs) != tuple(hold.legs):
                raise ConditionNotMet(f"a conditional hold is fulfilled whole: {tx.id} must carry exactly the {len(hold.legs)} leg(s) of hold {hold.id}")
        else:
            creditors = {view.account(leg.credit).owner for leg in hold.legs}
            if not creditors <= signers:
                raise ConditionNotMet(
                    f"rejecting hold {hold.id} needs the signatures of all its creditors ({', '.join(sorted(creditors))}); "
                    f"it was signed by {', '.join(sorted(signers)) or 'nobody'} (a debtor may not pull its leg back)"
                )
        posted = tx.legs if tx.kind == FULFIL else ()
        return self._end_hold(view, hold, tx, posted, {FULFIL: "fulfilled", REJECT: "rejected"}.get(tx.kind, "expired"), now)

    def _end_hold(self, view: _View, hold: HoldState, tx: Tx, posted: tuple[Leg, ...], status: str, now: str) -> Effect:
        """What ending ``hold`` with ``posted`` moved (nothing: released whole) changes, the controls' give-back included."""
        effect = view.effect
        for leg in hold.legs:
            effect.add(leg.debit, dq=-leg.amount)
            effect.add(leg.credit, cq=-leg.amount)
        for leg in posted:
            effect.add(leg.debit, dp=leg.amount)
            effect.add(leg.credit, cp=leg.amount)
        effect.finishes = (hold.id, status, tx.id)
        effect.released = released_legs(hold.legs, posted)
        self._check_funds(view, effect)
        self._check_reserves(view, effect)
        state = view.state
        if state.controls is not None:
            effect.controls = self.controls.release(
                state.controls, hold.id, self._views(view, hold.legs), self._views(view, posted), hold.at, now, hold.quoted, hold.travel
            )
        return effect

    # -- money ------------------------------------------------------------------------------------
    def _check_funds(self, view: _View, effect: Effect) -> None:
        # Every entry passes through here (verify replays them all): plain arithmetic, no generators.
        for aid, delta in effect.deltas.items():
            account = view.account(aid)
            c = view.state.counters.get(aid) or view.counters(aid)  # (counted: the account is the state's)
            dp, cp, dq, cq = c[0] + delta[0], c[1] + delta[1], c[2] + delta[2], c[3] + delta[3]
            if dp > MAX_COUNTER or cp > MAX_COUNTER or dq > MAX_COUNTER or cq > MAX_COUNTER:
                raise BadAmount(f"{aid} would pass the 64-bit limit of its counters")
            if not account.may_overdraw:
                available = cp - dp - dq
                if available < 0:
                    exponent = view.asset(account.asset).exponent
                    before = c[1] - c[0] - c[2]
                    raise InsufficientFunds(
                        f"{aid} has {format_amount(before, exponent)} {account.asset} available; "
                        f"this needs {format_amount(before - available, exponent)}"
                    )

    def _backing_issuers(self, view: _View, accounts: Iterable[str]) -> set[str]:
        found = set()
        for aid in accounts:
            a = view.account(aid)
            if RESERVE in a.flags:
                found.add(a.owner)
            elif ISSUANCE in a.flags and view.asset(a.asset).kind == STABLECOIN:
                found.add(a.owner)
        return found

    def _check_reserves(self, view: _View, effect: Effect) -> None:
        """Every issuer whose supply or reserve this changes stays fully reserved, in eligible assets only."""
        issuers = self._backing_issuers(view, effect.deltas)
        if not issuers:
            return
        supply: dict[tuple[str, str], int] = {}
        reserve: dict[tuple[str, str], int] = {}
        exponents: dict[tuple[str, str], int] = {}
        state = view.state
        for issuer in sorted(issuers):
            for aid in sorted(state.backing.get(issuer, set()) | {a for a, acc in effect.opened.items() if acc.owner == issuer}):
                account = view.account(aid)
                asset = view.asset(account.asset)
                delta = effect.deltas.get(aid, (0, 0, 0, 0))
                dp, cp, dq, _ = (now + d for now, d in zip(view.counters(aid), delta, strict=True))
                key = (issuer, asset.currency)
                if ISSUANCE in account.flags and asset.kind == STABLECOIN:
                    issued = dp - cp + dq  # outstanding, pending mints included
                    if aid in effect.deltas and delta[0] + delta[2] > 0:
                        if view.issuer_of(asset.code) != issuer:
                            raise IssuerNotRegistered(f"{issuer} is not a registered issuer of {asset.code}")
                    supply[key] = supply.get(key, 0) + at_scale(issued, asset.exponent)
                    exponents[key] = asset.exponent
                elif RESERVE in account.flags and reserve_counts(issuer, asset, self.registry):
                    reserve[key] = reserve.get(key, 0) + at_scale(cp - dp - dq, asset.exponent)
        for key, issued in supply.items():
            require_full_reserve(key[0], key[1], issued, reserve.get(key, 0), exponents[key])


class _View:
    """The state as one entry sees it: what is stored plus what this entry opens or registers."""

    __slots__ = ("effect", "state")

    def __init__(self, state: LedgerState, effect: Effect) -> None:
        self.state = state
        self.effect = effect

    def participant_or_none(self, pid: str) -> Participant | None:
        found = self.state.participants.get(pid)
        if found is None and self.effect.participant is not None and self.effect.participant.id == pid:
            return self.effect.participant
        return found

    def participant(self, pid: str) -> Participant:
        found = self.state.participants.get(pid) or self.participant_or_none(pid)  # (registered: one lookup)
        if found is None:
            raise UnknownParticipant(f"no participant {pid}")
        return found

    def asset(self, code: str) -> Asset:
        found = self.state.assets.get(code)
        if found is None:
            if self.effect.asset is not None and self.effect.asset.code == code:
                return self.effect.asset
            raise UnknownAsset(f"no asset {code}")
        return found

    def account_or_none(self, aid: str) -> Account | None:
        return self.state.accounts.get(aid) or self.effect.opened.get(aid)

    def account(self, aid: str) -> Account:
        # The rules ask this several times a leg: one dict lookup for a stored account, no call more.
        found = self.state.accounts.get(aid) or self.effect.opened.get(aid)
        if found is None:
            raise UnknownAccount(f"no account {aid}")
        return found

    def counters(self, aid: str) -> list[int]:
        state = self.state
        if aid in state.accounts:
            return state.counters_of(aid)
        if aid in self.effect.opened:
            return [0, 0, 0, 0]
        return state.counters_of(aid)

    def issuer_of(self, code: str) -> str | None:
        if self.effect.issuer is not None and self.effect.issuer[0] == code:
            return self.effect.issuer[1]
        return self.state.issuers.get(code)

    def issuers_of(self, pid: str) -> set[str]:
        """The stablecoins ``pid`` is the registered issuer of."""
        return {code for code, who in self.state.issuers.items() if who == pid}


def signature_keys(signed: Any, current_key: Callable[[str], bytes | None]) -> list[tuple[str, bytes | None, str]]:
    """Each signature of ``signed`` with the name it counts under and the key it must verify with.

    A registration's participant signs with the key it registers; a rotation
    carries its participant's signature twice: first with the current key,
    then (counted as ``<id>#new``) with the new one. Everyone else signs with
    ``current_key(signer)`` (None: not a registered participant).
    """
    tx = signed.tx
    subject = tx.subject
    out: list[tuple[str, bytes | None, str]] = []
    seen: set[str] = set()
    for sig in signed.signatures:
        name, key = sig.signer, None
        if tx.kind == REGISTER and isinstance(subject, Registration) and name == subject.id:
            key = _raw_key(subject.public_key)
        elif tx.kind == KEY and isinstance(subject, KeySpec) and name == subject.participant and name in seen:
            name, key = name + NEW_KEY, _raw_key(subject.public_key)
        else:
            key = current_key(name)
        seen.add(sig.signer)
        out.append((name, key, sig.sig))
    return out


def _raw_key(text: str) -> bytes | None:
    try:
        raw = unb64url(text)
    except BadSignature:
        return None
    return raw if len(raw) == 32 else None


class RegistryLookup(Protocol):
    def participant_or_none(self, pid: str) -> Participant | None: ...
    def account_or_none(self, aid: str) -> Account | None: ...
    def asset(self, code: str) -> Asset: ...


def required_signers(tx: Tx, lookup: RegistryLookup, policy: RegistryPolicy) -> frozenset[str]:
    """Everyone who must sign ``tx`` (a post or void is authorised by its hold; see the rulebook).

    - a payment: the owner of every debited account (an issuer signs its issuance);
    - every account it opens: its owner, and for a deposit token or wholesale
      central-bank money the asset's issuer as well;
    - a registration: the participant (with the key it registers) and its registrar;
    - a new asset or issuer: the issuer and the regulator of its jurisdiction;
    - a key rotation: the participant with its current and its new key;
      a revocation: whoever registered the participant.
    """
    needed: set[str] = set()
    subject = tx.subject
    if isinstance(subject, Registration):
        needed.update((subject.id, subject.registrar))
    elif isinstance(subject, (AssetSpec, IssuerSpec)):
        issuer = lookup.participant_or_none(subject.issuer)
        needed.add(subject.issuer)
        if issuer is not None:
            needed.add(policy.authority_of(issuer.jurisdiction))
    elif isinstance(subject, KeySpec):
        if subject.reason == ROTATED:
            needed.update((subject.participant, subject.participant + NEW_KEY))
        else:
            p = lookup.participant_or_none(subject.participant)
            if p is not None:
                needed.add(p.registrar or policy.authority_of(p.jurisdiction))
    for spec in tx.opens:
        needed.add(spec.owner)
        asset = lookup.asset(spec.asset)
        if asset.kind in (DEPOSIT_TOKEN, WHOLESALE_CBDC):
            needed.add(asset.issuer)
    if tx.kind not in (POST, VOID, EXPIRE, FULFIL, REJECT):
        for leg in tx.legs:
            account = lookup.account_or_none(leg.debit)
            if account is None:
                opened = next((s for s in tx.opens if s.id == leg.debit), None)
                if opened is None:
                    raise UnknownAccount(f"no account {leg.debit}")
                needed.add(opened.owner)
            else:
                needed.add(account.owner)
    return frozenset(needed)


def customers_among(participants: Mapping[str, Participant], ids: set[str]) -> set[str]:
    return {d for d in ids if d in participants and participants[d].kind in CUSTOMER_KINDS}
