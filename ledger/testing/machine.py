"""`LedgerStateMachine`: a whole ledger driven side by side with a plain model.

Each Hypothesis example gets a fresh SQLite ledger, copied from a template
made once per process (see :func:`fresh_ledger`), whose book reads a
:class:`ManualClock` that only the machine moves. The model is plain dicts:
four counters per account, the state and expiry of every hold, the
committed transactions and the journal's length. After every step the
ledger must agree with the model, every asset must sum to zero, and no
``no_overdraft`` account may be overdrawn.
"""

from __future__ import annotations

import atexit
import base64
import math
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any, ClassVar

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck
from hypothesis import settings as Settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, multiple, rule

from wonledger.domain.chain import iso
from wonledger.domain.errors import (
    AlreadyReversed,
    AssetMismatch,
    BadAmount,
    BadInput,
    BadSignature,
    DuplicateConflict,
    HoldExpired,
    HoldNotPending,
    InsufficientFunds,
    LedgerError,
    NotAuthorized,
    TravelRule,
    UnknownAccount,
    UnknownAsset,
)
from wonledger.domain.model import HOLD, PLAIN_KINDS, POST, RESERVE, REVERSAL, Leg, Receipt, Signature, SignedTx, Tx
from wonledger.domain.signing import sign_bytes
from wonledger.flows import post_tx, reversal_tx, transfer_tx, void_tx
from wonledger.rulebook.policy import load_flow_policy
from wonledger.service.facade import Ledger
from wonledger.testing.strategies import note_closed

__all__ = ["LedgerStateMachine", "ManualClock", "fresh_ledger", "template_dir"]


class ManualClock:
    """An aware UTC clock for ``Ledger.open(..., clock=...)`` that moves only when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start if start is not None else datetime.now(UTC).replace(microsecond=0)
        if self.now.tzinfo is None:
            raise ValueError("the ledger's clock must give aware datetimes")

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: int = 0, *, microseconds: int = 0) -> None:
        if seconds < 0 or microseconds < 0:
            raise ValueError("the clock only moves forward")
        self.now += timedelta(seconds=seconds, microseconds=microseconds)

    def move_to(self, moment: datetime) -> None:
        if moment < self.now:
            raise ValueError("the clock only moves forward")
        self.now = moment


# -- templates: one ledger made per process, copied for every example ----------

_ROOT: Path | None = None
_TEMPLATES: dict[tuple[str, object], Path] = {}
_DB = "wonledger.db"
_KEYS = "keys"


def _root() -> Path:
    global _ROOT
    if _ROOT is None:
        _ROOT = Path(tempfile.mkdtemp(prefix="wonledger-testing-"))
        atexit.register(shutil.rmtree, _ROOT, True)
    return _ROOT


def _url(directory: Path) -> str:
    return f"sqlite:///{directory / _DB}"


def template_dir(world: str = "default", populate: Callable[[Ledger], None] | None = None) -> Path:
    """The directory of this process's template ledger for ``world`` and ``populate``, made on first use.

    It holds ``wonledger.db`` and ``keys/`` (mode 0700, keys 0600). ``populate``
    may add participants and accounts (or sign transactions) once, before
    the template is closed; templates are kept per ``(world, populate)``.
    """
    key = (world, populate)
    found = _TEMPLATES.get(key)
    if found is None:
        found = Path(tempfile.mkdtemp(prefix="template-", dir=_root())) / "ledger"
        found.mkdir(mode=0o700)
        ledger = Ledger.create(_url(found), found / _KEYS, world=world)
        try:
            if populate is not None:
                populate(ledger)
        finally:
            ledger.close()
        _TEMPLATES[key] = found
    return found


@contextmanager
def fresh_ledger(
    world: str = "default",
    populate: Callable[[Ledger], None] | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Iterator[Ledger]:
    """A new SQLite ledger copied from the process's template (a file copy, not a migration).

    Every copy has the template's ledger id, accounts and keys; it is closed
    and deleted on leaving the ``with`` block. Open it inside the test, once
    per example (``@given(data=st.data())``, then draw from strategies made
    for it): Hypothesis replays ids across examples with other content, so a
    ledger shared by all examples refuses them, and a strategy made at
    module level outlives the ledger it signs through. Both say so when
    they happen.
    """
    template = template_dir(world, populate)
    workdir = Path(tempfile.mkdtemp(prefix="ledger-", dir=_root()))
    try:
        target = workdir / "ledger"
        shutil.copytree(template, target)  # copies modes: keys/ stays 0700, keys 0600
        ledger = Ledger.open(_url(target), target / _KEYS, clock) if clock is not None else Ledger.open(_url(target), target / _KEYS)
        try:
            yield ledger
        finally:
            ledger.close()
            note_closed(ledger)  # a strategy still bound to it then says why it cannot sign
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# -- the model ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Entry:
    """A committed client transaction as the model remembers it."""

    signed: SignedTx
    receipt: Receipt


@dataclass(frozen=True, slots=True)
class _Hold:
    legs: tuple[Leg, ...]
    expires_at: datetime
    status: str = "pending"  # pending, posted, voided, expired


Counters = list[int]  # debits_posted, credits_posted, debits_pending, credits_pending

#: Amounts the rules draw: small, large, or exactly what the debit account has (and one more).
AMOUNTS = st.one_of(st.integers(1, 5_000), st.integers(1, 2_000_000), st.sampled_from(("all", "all+1")))
TIMEOUTS = st.one_of(st.sampled_from((1, 30, 3_600, 86_400)), st.integers(600, 86_400))
PICKS = st.integers(0, 63)
#: How holds that fell due are expired: by asking, or by the next submit.
EXPIRY_PATHS = ("expire_due", "next_submit")
#: What can be wrong with a transfer, each refused with its own error.
FAULTS = (
    "unknown-credit", "unknown-debit", "other-asset", "unknown-asset", "zero", "negative", "float", "whole-float",
    "bool", "wrong-signer", "unsigned", "flipped-signature", "truncated-signature", "other-payload", "other-ledger",
    "unregistered-signer",
)


class LedgerStateMachine(RuleBasedStateMachine):
    """Drives a fresh ledger and a plain-dict model side by side; they must always agree.

    Run it with ``TestLedger = LedgerStateMachine.TestCase`` in a test module,
    or subclass it::

        from hypothesis import settings
        from hypothesis.stateful import rule
        from wonledger.testing import LedgerStateMachine

        class MyMachine(LedgerStateMachine):
            # more examples than the cheap default; keep deadline=None
            hypothesis_settings = settings(LedgerStateMachine.hypothesis_settings, max_examples=200)
            assets = ("dKRW.hanriver",)          # the assets the rules move

            @classmethod
            def populate_template(cls, ledger):  # the world, made once per process
                super().populate_template(ledger)
                ledger.registry.add_participant("dave", "individual", "KR")
                ledger.registry.open_account("dave", "dKRW.hanriver")

            @rule(account=LedgerStateMachine.accounts)
            def history_reads_back(self, account):
                assert all(e.seq > 0 for e in self.ledger.history(account))

        TestMyMachine = MyMachine.TestCase

    What a subclass can change:

    - ``hypothesis_settings`` (class attribute): the settings of ``TestCase``;
      the default is 25 examples of up to 30 steps, no deadline. Build yours
      on it (``settings(LedgerStateMachine.hypothesis_settings, ...)``) to keep
      ``deadline=None``. Decorating the subclass with ``@settings(...)`` or
      assigning ``MyMachine.TestCase.settings`` works too.
    - ``world`` and :meth:`populate_template`: the template ledger every example
      copies (by default the default world plus ``bob`` and ``carol``, funded).
    - ``assets`` and :meth:`machine_accounts`: which accounts fill the
      ``accounts`` bundle the rules draw from (reserve accounts are left out).
    - more rules and invariants: define them with ``@rule``/``@invariant``.
      The bundles are ``LedgerStateMachine.accounts`` (account ids),
      ``LedgerStateMachine.holds`` (hold ids) and
      ``LedgerStateMachine.committed`` (accepted :class:`~wonledger.domain.model.SignedTx`).
      A rule that writes through ``self.ledger`` must tell the model: call
      :meth:`submit_expecting` (or :meth:`catch_up` first and
      :meth:`record_accepted` after), or the next invariant will fail,
      which is the point.

    ``self.ledger`` is the ledger, ``self.clock`` its :class:`ManualClock`,
    ``self.counters`` the model's counters by account id.
    """

    hypothesis_settings: ClassVar[Settings] = Settings(
        max_examples=25,
        stateful_step_count=30,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    world: ClassVar[str] = "default"
    assets: ClassVar[tuple[str, ...]] = ("dKRW.hanriver", "dHKD.harbour")

    accounts = Bundle("accounts")
    holds = Bundle("holds")
    committed = Bundle("committed")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.TestCase.settings = cls.hypothesis_settings

    # -- the world ---------------------------------------------------------------
    @classmethod
    def populate_template(cls, ledger: Ledger) -> None:
        """Add to the template ledger, once per process: two funded customers and an empty account."""
        ledger.registry.add_participant("bob", "individual", "KR")
        ledger.registry.add_participant("carol", "individual", "HK")
        ledger.registry.open_account("bob", "dKRW.hanriver")
        ledger.registry.open_account("bob", "dKRW.hanriver", label="savings")
        ledger.registry.open_account("carol", "dHKD.harbour")
        ledger.payments.transfer("hanriver:dKRW.hanriver", "bob:dKRW.hanriver", 1_000_000, tx_id="template-fund-bob", memo="deposit")
        ledger.payments.transfer("harbour:dHKD.harbour", "carol:dHKD.harbour", 5_000_000, tx_id="template-fund-carol", memo="deposit")

    def machine_accounts(self) -> list[str]:
        """The account ids the rules move money between: ``assets``' accounts, reserves left out."""
        return sorted(a.id for a in self.ledger.registry.accounts() if a.asset in self.assets and RESERVE not in a.flags)

    # -- set-up and tear-down -----------------------------------------------------
    def __init__(self) -> None:
        super().__init__()
        # a whole second past the template's own entries, so commit times never run backwards
        self.clock = ManualClock(datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1))
        populate = getattr(type(self).populate_template, "__func__", type(self).populate_template)
        self._ledger_cm = fresh_ledger(self.world, _Populate(type(self), populate), self.clock)
        self.ledger = self._ledger_cm.__enter__()
        try:
            found = self.ledger.registry.accounts()
            self.counters: dict[str, Counters] = {
                a.id: [a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending] for a in found
            }
            self.owner = {a.id: a.owner for a in found}
            self.asset_of = {a.id: a.asset for a in found}
            self.overdraws = {a.id: a.may_overdraw for a in found}
            self.participants = sorted(p.id for p in self.ledger.registry.participants() if self.ledger._keys.has(p.id))
            self.asset_codes = sorted(a.code for a in self.ledger.registry.assets())
            self._assets = {a.code: a for a in self.ledger.registry.assets()}
            self._people = {p.id: p for p in self.ledger.registry.participants()}
            self._flow_policy = load_flow_policy()
            self.journal_length = self.ledger.info().transactions
            self.holds_model: dict[str, _Hold] = {}
            self.entries: dict[str, _Entry] = {}
            self.reversed: set[str] = set()
            self.unswept = 0
            self.last_accepted: str | None = None
            self._serial = 0
            self._mine = self.machine_accounts()
        except BaseException:
            self._ledger_cm.__exit__(None, None, None)
            raise

    def teardown(self) -> None:
        self._ledger_cm.__exit__(None, None, None)

    @initialize(target=accounts)
    def load_accounts(self) -> Any:
        return multiple(*self._mine)

    # -- the model's arithmetic ----------------------------------------------------
    def next_id(self, kind: str) -> str:
        self._serial += 1
        return f"m-{kind}-{self._serial}"

    def available(self, account: str) -> int:
        dp, cp, dq, _ = self.counters[account]
        return cp - dp - dq

    def amount_for(self, account: str, choice: int | str) -> int:
        if isinstance(choice, int):
            return choice
        base = max(1, self.available(account))
        return base if choice == "all" else base + 1

    def same_asset(self, account: str, pick: int) -> str | None:
        """Another machine account holding ``account``'s asset, or None."""
        others = [a for a in self._mine if a != account and self.asset_of[a] == self.asset_of[account]]
        return others[pick % len(others)] if others else None

    @staticmethod
    def deltas(legs: Sequence[Leg], pending: bool, sign: int = 1) -> dict[str, Counters]:
        out: dict[str, Counters] = {}
        for leg in legs:
            d = out.setdefault(leg.debit, [0, 0, 0, 0])
            c = out.setdefault(leg.credit, [0, 0, 0, 0])
            d[2 if pending else 0] += sign * leg.amount
            c[3 if pending else 1] += sign * leg.amount
        return out

    @staticmethod
    def merge(*parts: dict[str, Counters]) -> dict[str, Counters]:
        out: dict[str, Counters] = {}
        for part in parts:
            for account, delta in part.items():
                acc = out.setdefault(account, [0, 0, 0, 0])
                for i in range(4):
                    acc[i] += delta[i]
        return out

    def fits(self, deltas: dict[str, Counters]) -> bool:
        """Whether applying ``deltas`` leaves every no-overdraft account it touches at available >= 0."""
        for account, (dp, cp, dq, _) in deltas.items():
            if self.overdraws[account]:
                continue
            now = self.counters[account]
            if (now[1] + cp) - (now[0] + dp) - (now[2] + dq) < 0:
                return False
        return True

    def apply(self, deltas: dict[str, Counters]) -> None:
        for account, delta in deltas.items():
            for i in range(4):
                self.counters[account][i] += delta[i]

    def legs_problem(self, legs: Sequence[Leg]) -> type[LedgerError] | None:
        """The error the book gives for these legs' accounts and assets, checked in its order."""
        for leg in legs:
            if leg.asset not in self.asset_codes:
                return UnknownAsset
            for account in (leg.debit, leg.credit):
                if account not in self.counters:
                    return UnknownAccount
                if self.asset_of[account] != leg.asset:
                    return AssetMismatch
        return None

    def travel_problem(self, legs: Sequence[Leg]) -> type[LedgerError] | None:
        """TRAVEL_RULE when these legs (carrying no travel data) move the threshold's worth across a border.

        The model's own reckoning, per movement and never netting parties: value
        paid by a party that only pays in the transaction to one of another
        jurisdiction that only receives, summed per pair, in US cents at the
        reference rates. (The default machine's deposit tokens never leave their
        jurisdiction; a subclass moving value abroad through go-betweens, or
        splitting it over several transactions, meets more of the rule than this
        single-hop model sees.)
        """
        debtors = {self.owner[leg.debit] for leg in legs}
        creditors = {self.owner[leg.credit] for leg in legs}
        pairs: dict[tuple[str, str], Fraction] = {}
        for leg in legs:
            d, c = self.owner[leg.debit], self.owner[leg.credit]
            if d in creditors or c in debtors or self._people[d].jurisdiction == self._people[c].jurisdiction:
                continue
            asset = self._assets[leg.asset]
            value = Fraction(leg.amount * 100, 10**asset.exponent) / self._flow_policy.rates.rate(asset.currency).units_per_usd
            pairs[(d, c)] = pairs.get((d, c), Fraction(0)) + value
        if any(math.ceil(v) >= self._flow_policy.travel_rule_usd for v in pairs.values()):
            return TravelRule
        return None

    def hold_problem(self, hold_id: str) -> type[LedgerError] | None:
        status = self.holds_model[hold_id].status
        if status == "expired":
            return HoldExpired
        if status != "pending":
            return HoldNotPending
        return None

    # -- time and expiry -------------------------------------------------------------
    def catch_up(self) -> None:
        """Expire, in the model, the holds that are due (the ledger does so before its next write).

        Holds fall due only when the clock moves, and the rules that move it
        expire them at once; rules call this before working out an outcome
        all the same, and :meth:`sweep` checks the ledger agrees.
        """
        now = self.clock()
        for hold_id in sorted(self.holds_model):
            hold = self.holds_model[hold_id]
            if hold.status == "pending" and hold.expires_at <= now:
                self.holds_model[hold_id] = replace(hold, status="expired")
                self.apply(self.deltas(hold.legs, pending=True, sign=-1))
                self.journal_length += 1
                self.unswept += 1

    def sweep(self) -> None:
        """Make the ledger expire what the model already expired, and check it expired exactly that."""
        expired = self.ledger.holds.expire_due()
        assert expired == self.unswept, f"the ledger expired {expired} holds, the model {self.unswept}"
        self.unswept = 0

    # -- submitting ------------------------------------------------------------------
    def snapshot(self) -> tuple[object, ...]:
        """Every account's counters and the journal's length, as the ledger says."""
        accounts = tuple(
            (a.id, a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending) for a in self.ledger.registry.accounts()
        )
        return accounts, self.ledger.info().transactions

    def refused(self, action: Callable[[], object], expected: type[LedgerError]) -> None:
        """``action`` must raise ``expected`` (by code) and change nothing at all."""
        self.sweep()
        before = self.snapshot()
        try:
            outcome = action()
        except LedgerError as exc:
            assert exc.code == expected.code, f"expected {expected.code}, got {exc.code}: {exc}"
        else:
            raise AssertionError(f"expected {expected.code}, but the ledger accepted it: {outcome}")
        assert self.snapshot() == before, "a refused operation changed the ledger"

    def submit_expecting(
        self,
        action: Callable[[], Receipt],
        expected: type[LedgerError] | None,
        tx_id: str,
        deltas: dict[str, Counters] | None = None,
    ) -> SignedTx | None:
        """Run ``action`` (which submits transaction ``tx_id``) expecting ``expected``, or acceptance
        with ``deltas`` applied; returns the committed transaction as the journal holds it.

        Call :meth:`catch_up` before working out ``expected``.
        """
        if expected is not None:
            self.refused(action, expected)
            return None
        receipt = action()
        self.unswept = 0
        return self.record_accepted(receipt, tx_id, deltas or {})

    def record_accepted(self, receipt: Receipt, tx_id: str, deltas: dict[str, Counters]) -> SignedTx:
        """Tell the model the ledger accepted ``tx_id`` with ``receipt``; returns its journal form."""
        assert not receipt.duplicate, f"{tx_id} was new, yet its receipt says duplicate"
        assert receipt.id == tx_id
        self.apply(deltas)
        self.journal_length += 1
        entry = self.ledger.transaction(tx_id)
        assert (entry.seq, entry.hash, entry.at) == (receipt.seq, receipt.hash, receipt.at)
        assert entry.at == iso(self.clock()), "the ledger did not use its clock"
        signed = SignedTx(tx=entry.tx, signatures=entry.signatures, canonical=entry.canonical)
        self.entries[tx_id] = _Entry(signed, receipt)
        self.last_accepted = tx_id
        if entry.tx.kind == HOLD:
            assert receipt.status == "pending"
            timeout = entry.tx.timeout_s or 0
            self.holds_model[tx_id] = _Hold(entry.tx.legs, self.clock() + timedelta(seconds=timeout))
        else:
            assert receipt.status == "posted"
        return signed

    def status_of(self, tx_id: str) -> str:
        hold = self.holds_model.get(tx_id)
        if hold is None:
            return "posted"
        return {"pending": "pending", "posted": "posted", "voided": "voided", "expired": "voided"}[hold.status]

    def sign_as(self, tx: Tx, signers: Sequence[str]) -> SignedTx:
        return self.ledger.sign(tx, signers)

    # -- rules: transfers -------------------------------------------------------------
    @rule(target=committed, debit=accounts, credit=accounts, choice=AMOUNTS)
    def transfer(self, debit: str, credit: str, choice: int | str) -> Any:
        """Any two machine accounts: a self-transfer or a cross-asset one must be refused."""
        amount = self.amount_for(debit, choice)
        tx_id = self.next_id("transfer")
        self.catch_up()
        legs = (Leg(debit, credit, self.asset_of[debit], amount),)
        if debit == credit:
            expected: type[LedgerError] | None = BadInput
        else:
            expected = self.legs_problem(legs)
        moves = self.deltas(legs, pending=False)
        if expected is None and not self.fits(moves):
            expected = InsufficientFunds
        signed = self.submit_expecting(
            lambda: self.ledger.payments.transfer(debit, credit, amount, tx_id=tx_id), expected, tx_id, moves
        )
        return signed if signed is not None else multiple()

    @rule(target=committed, debit=accounts, pick=PICKS, choice=AMOUNTS, kind=st.sampled_from(PLAIN_KINDS))
    def transfer_within_an_asset(self, debit: str, pick: int, choice: int | str, kind: str) -> Any:
        credit = self.same_asset(debit, pick)
        if credit is None:
            return multiple()
        amount = self.amount_for(debit, choice)
        tx = transfer_tx(self.ledger.id, debit, credit, self.asset_of[debit], amount, tx_id=self.next_id(kind), kind=kind)
        self.catch_up()
        moves = self.deltas(tx.legs, pending=False)
        expected = None if self.fits(moves) else InsufficientFunds
        signed = self.submit_expecting(lambda: self.ledger.submit(self.ledger.sign(tx)), expected, tx.id, moves)
        return signed if signed is not None else multiple()

    @rule(
        target=committed,
        parts=st.lists(st.tuples(accounts, PICKS, AMOUNTS), min_size=2, max_size=4),
    )
    def multi_leg_transfer(self, parts: list[tuple[str, int, int | str]]) -> Any:
        """All legs apply or none: funds are checked on the transaction's net effect per account."""
        legs = []
        for debit, pick, choice in parts:
            credit = self.same_asset(debit, pick)
            if credit is not None:
                legs.append(Leg(debit, credit, self.asset_of[debit], self.amount_for(debit, choice)))
        if not legs:
            return multiple()
        tx = Tx(ledger=self.ledger.id, id=self.next_id("multi"), kind="transfer", legs=tuple(legs), memo="several legs")
        self.catch_up()
        moves = self.deltas(tx.legs, pending=False)
        expected = self.travel_problem(tx.legs) or (None if self.fits(moves) else InsufficientFunds)
        signed = self.submit_expecting(lambda: self.ledger.submit(self.ledger.sign(tx)), expected, tx.id, moves)
        return signed if signed is not None else multiple()

    @rule(target=committed, items=st.lists(st.tuples(accounts, PICKS, AMOUNTS), min_size=1, max_size=4), repeat=st.booleans())
    def submit_a_batch(self, items: list[tuple[str, int, int | str]], repeat: bool) -> Any:
        """One chunk, outcomes in order; an id repeated inside the chunk is a duplicate of the first."""
        batch: list[SignedTx] = []
        for debit, pick, choice in items:
            credit = self.same_asset(debit, pick)
            if credit is None:
                continue
            tx = transfer_tx(
                self.ledger.id, debit, credit, self.asset_of[debit], self.amount_for(debit, choice), tx_id=self.next_id("batch")
            )
            batch.append(self.ledger.sign(tx))
        if not batch:
            return multiple()
        if repeat:
            batch.append(batch[0])
        self.catch_up()
        expected: list[type[LedgerError] | None] = []
        accepted_here: set[str] = set()
        pending_moves: dict[str, Counters] = {}
        plan: list[tuple[SignedTx, dict[str, Counters]]] = []
        for signed in batch:
            if signed.tx.id in accepted_here:
                expected.append(None)
                continue
            moves = self.deltas(signed.tx.legs, pending=False)
            if self.fits(self.merge(pending_moves, moves)):
                pending_moves = self.merge(pending_moves, moves)
                accepted_here.add(signed.tx.id)
                plan.append((signed, moves))
                expected.append(None)
            else:
                expected.append(InsufficientFunds)
        outcomes = self.ledger.submit_many(batch)
        self.unswept = 0
        assert len(outcomes) == len(batch)
        first_seen: dict[str, Receipt] = {}
        for signed, want, got in zip(batch, expected, outcomes, strict=True):
            if want is not None:
                assert isinstance(got, LedgerError) and got.code == want.code, f"expected {want.code}, got {got!r}"
                continue
            assert isinstance(got, Receipt), f"expected a receipt for {signed.tx.id}, got {got!r}"
            if signed.tx.id in first_seen:
                original = first_seen[signed.tx.id]
                assert got.duplicate and (got.seq, got.hash) == (original.seq, original.hash)
            else:
                assert not got.duplicate
                first_seen[signed.tx.id] = got
        out = []
        for signed, moves in plan:
            out.append(self.record_accepted(first_seen[signed.tx.id], signed.tx.id, moves))
        return multiple(*out)

    # -- rules: holds -------------------------------------------------------------------
    @rule(target=holds, debit=accounts, pick=PICKS, choice=AMOUNTS, timeout=TIMEOUTS)
    def hold(self, debit: str, pick: int, choice: int | str, timeout: int) -> Any:
        credit = self.same_asset(debit, pick)
        if credit is None:
            return multiple()
        amount = self.amount_for(debit, choice)
        tx_id = self.next_id("hold")
        self.catch_up()
        moves = self.deltas((Leg(debit, credit, self.asset_of[debit], amount),), pending=True)
        expected = None if self.fits(moves) else InsufficientFunds
        signed = self.submit_expecting(
            lambda: self.ledger.payments.transfer(debit, credit, amount, tx_id=tx_id, hold_timeout_s=timeout), expected, tx_id, moves
        )
        return signed.tx.id if signed is not None else multiple()

    def _finish_signers(self, hold_id: str, by: str) -> list[str]:
        legs = self.holds_model[hold_id].legs
        side = [leg.debit for leg in legs] if by == "debtors" else [leg.credit for leg in legs]
        return sorted({self.owner[a] for a in side})

    @rule(
        target=committed,
        hold_id=holds,
        how=st.sampled_from(("full", "partial", "full", "partial", "over")),
        part=st.integers(1, 10**7),
        by=st.sampled_from(("debtors", "creditors")),
        through_api=st.booleans(),
    )
    def post(self, hold_id: str, how: str, part: int, by: str, through_api: bool) -> Any:
        """Post a hold fully, partly (the rest is released) or for more than it holds (refused)."""
        self.catch_up()
        hold = self.holds_model[hold_id]
        held = hold.legs[0]
        amount = None if how == "full" else 1 + part % held.amount if how == "partial" else held.amount + 1 + part % 1000
        tx_id = self.next_id("post")
        expected = self.hold_problem(hold_id)
        if how == "over" and (through_api or expected is None):
            expected = BadAmount  # the API refuses before the book; the book after the hold's state
        posted = hold.legs if amount is None else (replace(held, amount=amount),)
        moves = self.merge(self.deltas(hold.legs, pending=True, sign=-1), self.deltas(posted, pending=False))
        if expected is None and not self.fits(moves):
            expected = InsufficientFunds
        if through_api:
            action: Callable[[], Receipt] = lambda: self.ledger.holds.post(hold_id, amount, tx_id=tx_id)  # noqa: E731
        else:
            tx = Tx(ledger=self.ledger.id, id=tx_id, kind=POST, legs=posted, ref=hold_id)
            signed = self.sign_as(tx, self._finish_signers(hold_id, by))
            action = lambda: self.ledger.submit(signed)  # noqa: E731
        committed = self.submit_expecting(action, expected, tx_id, moves)
        if committed is None:
            return multiple()
        self.holds_model[hold_id] = replace(hold, status="posted")
        return committed

    @rule(target=committed, hold_id=holds, by=st.sampled_from(("debtors", "creditors")), through_api=st.booleans())
    def void(self, hold_id: str, by: str, through_api: bool) -> Any:
        self.catch_up()
        hold = self.holds_model[hold_id]
        tx_id = self.next_id("void")
        expected = self.hold_problem(hold_id)
        moves = self.deltas(hold.legs, pending=True, sign=-1)
        if through_api:
            action: Callable[[], Receipt] = lambda: self.ledger.holds.void(hold_id, tx_id=tx_id)  # noqa: E731
        else:
            signed = self.sign_as(void_tx(self.ledger.id, hold_id, tx_id=tx_id), self._finish_signers(hold_id, by))
            action = lambda: self.ledger.submit(signed)  # noqa: E731
        committed = self.submit_expecting(action, expected, tx_id, moves)
        if committed is None:
            return multiple()
        self.holds_model[hold_id] = replace(hold, status="voided")
        return committed

    @rule(hold_id=holds, post_it=st.booleans(), who=st.integers(0, 999))
    def finish_a_hold_as_a_stranger(self, hold_id: str, post_it: bool, who: int) -> None:
        """Neither all debtors nor all creditors signed: refused (after the hold's own state)."""
        hold = self.holds_model[hold_id]
        parties = {self.owner[a] for leg in hold.legs for a in (leg.debit, leg.credit)}
        strangers = [p for p in self.participants if p not in parties]
        if not strangers:
            return
        tx_id = self.next_id("stranger")
        tx = post_tx(self.ledger.id, hold_id, hold.legs, tx_id=tx_id) if post_it else void_tx(self.ledger.id, hold_id, tx_id=tx_id)
        signed = self.sign_as(tx, [strangers[who % len(strangers)]])
        self.catch_up()
        self.refused(lambda: self.ledger.submit(signed), self.hold_problem(hold_id) or NotAuthorized)

    @rule(seconds=st.one_of(st.integers(1, 60), st.integers(1, 3_600)), via=st.sampled_from(EXPIRY_PATHS))
    def advance_the_clock(self, seconds: int, via: str) -> None:
        self.clock.advance(seconds)
        self.holds_fall_due(via)

    @rule(hold_id=holds, offset_us=st.sampled_from((-1, 0, 1)), via=st.sampled_from(EXPIRY_PATHS))
    def advance_the_clock_to_a_holds_expiry(self, hold_id: str, offset_us: int, via: str) -> None:
        """Land exactly on (or a microsecond either side of) a hold's expiry: due means expires_at <= now."""
        target = self.holds_model[hold_id].expires_at + timedelta(microseconds=offset_us)
        if target > self.clock():
            self.clock.move_to(target)
            self.holds_fall_due(via)

    def holds_fall_due(self, via: str) -> None:
        """After the clock moved: the holds now due expire, in the model and in the ledger.

        ``via="expire_due"`` asks the ledger to expire them and checks how many
        it did; ``via="next_submit"`` submits a one-unit issuance and leaves the
        expiry to the book's submit path. Either way nothing is left due at the
        end of the step, so no later read or write can expire anything the
        model has not.
        """
        self.catch_up()
        issuers = [a for a in self._mine if self.overdraws[a] and self.same_asset(a, 0) is not None]
        if via == "expire_due" or not issuers:
            self.sweep()
            return
        tx_id = self.next_id("issue")
        debit = issuers[self._serial % len(issuers)]
        credit = self.same_asset(debit, self._serial) or ""
        tx = transfer_tx(self.ledger.id, debit, credit, self.asset_of[debit], 1, tx_id=tx_id, kind="issue")
        signed = self.ledger.sign(tx)  # reads the store directly: the submit below is the first to expire
        self.submit_expecting(lambda: self.ledger.submit(signed), None, tx.id, self.deltas(tx.legs, pending=False))

    @rule(hold_id=holds)
    def reverse_a_hold(self, hold_id: str) -> None:
        """A hold is voided, never reversed."""
        self.catch_up()
        self.refused(lambda: self.ledger.payments.reverse(hold_id, tx_id=self.next_id("reversal")), BadInput)

    @rule(target=committed, original=committed)
    def reverse(self, original: SignedTx) -> Any:
        tx_id = self.next_id("reversal")
        kind, legs = original.tx.kind, original.tx.legs
        self.catch_up()
        mirrored = tuple(Leg(leg.credit, leg.debit, leg.asset, leg.amount) for leg in legs)
        moves = self.deltas(mirrored, pending=False)
        expected: type[LedgerError] | None
        if kind not in PLAIN_KINDS + (POST, REVERSAL) or not legs:
            expected = BadInput
        elif original.tx.id in self.reversed:
            expected = AlreadyReversed
        elif not self.fits(moves):
            expected = InsufficientFunds
        else:
            expected = None
        signed = self.submit_expecting(lambda: self.ledger.payments.reverse(original.tx.id, tx_id=tx_id), expected, tx_id, moves)
        if signed is None:
            return multiple()
        assert signed.tx == reversal_tx(self.ledger.id, original.tx.id, legs, tx_id=tx_id)
        self.reversed.add(original.tx.id)
        return signed

    def _resubmit(self, signed: SignedTx) -> None:
        """An accepted transaction sent again: the original receipt, marked duplicate; nothing changes."""
        original = self.entries[signed.tx.id].receipt
        self.catch_up()
        self.sweep()
        before = self.snapshot()
        receipt = self.ledger.submit(signed)
        assert receipt.duplicate, f"resubmitting {signed.tx.id} posted it again"
        assert (receipt.id, receipt.seq, receipt.hash, receipt.at) == (original.id, original.seq, original.hash, original.at)
        assert receipt.status == self.status_of(signed.tx.id), (receipt.status, self.status_of(signed.tx.id))
        assert self.snapshot() == before, "a duplicate changed the ledger"

    @rule(signed=committed)
    def resubmit_an_accepted_transaction(self, signed: SignedTx) -> None:
        self._resubmit(signed)

    @rule(hold_id=holds)
    def resubmit_a_hold(self, hold_id: str) -> None:
        self._resubmit(self.entries[hold_id].signed)

    @rule()
    def replay_every_accepted_transaction(self) -> None:
        """The whole history sent again as one chunk: every item a duplicate, nothing changes."""
        if not self.entries:
            return
        self.catch_up()
        self.sweep()
        before = self.snapshot()
        outcomes = self.ledger.submit_many([e.signed for e in self.entries.values()])
        for entry, got in zip(self.entries.values(), outcomes, strict=True):
            assert isinstance(got, Receipt) and got.duplicate, f"replaying {entry.signed.tx.id} gave {got!r}"
            assert (got.seq, got.hash) == (entry.receipt.seq, entry.receipt.hash)
        assert self.snapshot() == before

    @rule(signed=committed, change=st.sampled_from(("memo", "amount")))
    def resubmit_an_id_with_other_content(self, signed: SignedTx, change: str) -> None:
        tx = signed.tx
        if change == "amount" and tx.legs:
            first = tx.legs[0]
            changed = replace(tx, legs=(replace(first, amount=first.amount + 1),) + tx.legs[1:])
        else:
            changed = replace(tx, memo=(tx.memo or "") + " (edited)")
        again = self.sign_as(changed, [s.signer for s in signed.signatures])
        self.catch_up()
        self.refused(lambda: self.ledger.submit(again), DuplicateConflict)

    @rule(debit=accounts, pick=PICKS, choice=AMOUNTS, fault=st.sampled_from(FAULTS), n=st.integers(0, 2**16))
    def a_transfer_with_a_fault_is_refused(self, debit: str, pick: int, choice: int | str, fault: str, n: int) -> None:
        """One fault per transaction, each with its own error code; none changes anything."""
        credit = self.same_asset(debit, pick)
        if credit is None:
            return
        owner, asset = self.owner[debit], self.asset_of[debit]
        amount = self.amount_for(debit, choice)
        tx = transfer_tx(self.ledger.id, debit, credit, asset, amount, tx_id=self.next_id(fault))
        expected: type[LedgerError]
        signers = [owner]
        if fault in ("unknown-credit", "unknown-debit"):
            ghost = f"ghost{n}:{asset}"
            leg = Leg(debit, ghost, asset, amount) if fault == "unknown-credit" else Leg(ghost, credit, asset, amount)
            signers = [self.owner[debit if fault == "unknown-credit" else credit]]
            tx, expected = replace(tx, legs=(leg,)), UnknownAccount
        elif fault in ("other-asset", "unknown-asset"):
            others = [code for code in self.asset_codes if code != asset]
            code = others[n % len(others)] if fault == "other-asset" and others else "NOSUCH.asset"
            tx = replace(tx, legs=(replace(tx.legs[0], asset=code),))
            expected = AssetMismatch if code != "NOSUCH.asset" else UnknownAsset
        elif fault in ("zero", "negative", "float", "whole-float", "bool"):
            # 1.0 == 1 and True == 1 in Python: a whole float or a bool must still be refused
            bad: Any = {"zero": 0, "negative": -1 - n, "float": amount + 0.5, "whole-float": float(amount), "bool": True}[fault]
            tx, expected = replace(tx, legs=(replace(tx.legs[0], amount=bad),)), BadAmount
        elif fault in ("wrong-signer", "unsigned"):
            others = [p for p in self.participants if p != owner]
            signers = [others[n % len(others)]] if fault == "wrong-signer" and others else []
            expected = NotAuthorized
        else:
            expected = BadSignature
        if fault == "other-ledger":
            tx = replace(tx, ledger=self.ledger.id + "-elsewhere")
        signed = self.sign_as(tx, signers)
        if fault in ("flipped-signature", "truncated-signature", "other-payload", "unregistered-signer"):
            raw = bytearray(base64.urlsafe_b64decode(signed.signatures[0].sig + "=="))
            if fault == "flipped-signature":
                raw[n % 64] ^= 1 + (n >> 6) % 255
                sig = Signature(owner, _b64url(bytes(raw)))
            elif fault == "truncated-signature":
                sig = Signature(owner, _b64url(bytes(raw[: n % 64])))
            elif fault == "other-payload":
                sig = self.sign_as(replace(tx, memo="something else"), [owner]).signatures[0]
            else:
                sig = sign_bytes(Ed25519PrivateKey.generate(), "mallory", signed.canonical)
            signed = SignedTx(tx=tx, signatures=(sig,), canonical=signed.canonical)
        self.catch_up()
        self.refused(lambda: self.ledger.submit(signed), expected)

    # -- rules: the registry ------------------------------------------------------------
    @rule(
        target=accounts,
        registrar=st.sampled_from(["hanriver", "namsan", "harbour", "kpay", "fsc", "peakfx"]),
        jurisdiction=st.sampled_from(["KR", "HK"]),
        kind=st.sampled_from(["individual", "corporate"]),
    )
    def register_a_customer_and_open_its_account(self, registrar: str, jurisdiction: str, kind: str) -> Any:
        """A customer is registered by a bank of its own jurisdiction, signed with its own new key; anyone else is refused."""
        from wonledger.domain.errors import NotAuthorized
        from wonledger.domain.model import AccountSpec
        from wonledger.flows.registry import open_tx, registration_tx
        from wonledger.flows.world import participant_key

        self._serial += 1
        pid = f"cust-{self._serial}"
        vouching = self._people[registrar]
        tx = registration_tx(self.ledger.id, pid, kind, jurisdiction, True, participant_key(self.ledger._keys, pid), registrar)
        signed = self.ledger.sign(tx, [pid, registrar])
        self.catch_up()
        if vouching.kind != "bank" or vouching.jurisdiction != jurisdiction:
            self.refused(lambda: self.ledger.submit(signed), NotAuthorized)
            return multiple()
        self.submit_expecting(lambda: self.ledger.submit(signed), None, tx.id)
        self._people[pid] = self.ledger.registry.participant(pid)
        assert self._people[pid].registrar == registrar
        token = "dKRW.hanriver" if jurisdiction == "KR" else "dHKD.harbour"
        account = f"{pid}:{token}"
        opening = open_tx(self.ledger.id, (AccountSpec(pid, token),))
        signed = self.ledger.sign(opening, [pid, self._assets[token].issuer])
        self.catch_up()
        self.counters[account] = [0, 0, 0, 0]
        self.owner[account], self.asset_of[account], self.overdraws[account] = pid, token, False
        self.submit_expecting(lambda: self.ledger.submit(signed), None, opening.id)
        self._mine.append(account)
        return account

    @rule(who=st.sampled_from(["alice", "bob", "carol", "hanriver"]))
    def rotate_a_key(self, who: str) -> None:
        """A rotation is an entry signed with the old and the new key; every earlier entry keeps verifying.

        (A second later than the entries before it: a key signs from its entry's commit time on, so the ledger
        would otherwise commit the rotation a microsecond after them, past this machine's clock.)
        """
        self.clock.advance(1)
        self.catch_up()
        before = self.ledger.registry.key_history(who)
        change = self.ledger.registry.rotate_key(who)
        self.journal_length += 1
        self.unswept = 0
        after = self.ledger.registry.key_history(who)
        assert len(after) == len(before) + 1 and after[-2].retired_at == change.current.valid_from == iso(self.clock())

    # -- invariants -------------------------------------------------------------------------
    @invariant()
    def replaying_the_journal_rebuilds_exactly_the_stored_tables(self) -> None:
        """`verify`: the journal, replayed through the rulebook, gives every table the book keeps (registry, accounts, holds)."""
        report = self.ledger.verify()
        assert not report.problems, report.problems

    @invariant()
    def the_ledger_agrees_with_the_model(self) -> None:
        found = {
            a.id: [a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending] for a in self.ledger.registry.accounts()
        }
        assert found.keys() == self.counters.keys(), "accounts appeared or vanished"
        for account, counters in found.items():
            assert all(type(c) is int for c in counters), f"{account} has counters that are not ints: {counters}"
            assert counters == self.counters[account], f"{account}: ledger {counters}, model {self.counters[account]}"
        assert self.ledger.info().transactions == self.journal_length, "the journal's length differs from the model's"

    @invariant()
    def every_asset_sums_to_zero_and_nothing_is_overdrawn(self) -> None:
        balances: dict[str, int] = {}
        pending: dict[str, int] = {}
        for a in self.ledger.registry.accounts():
            balances[a.asset] = balances.get(a.asset, 0) + a.balance
            pending[a.asset] = pending.get(a.asset, 0) + a.debits_pending - a.credits_pending
            if not a.may_overdraw:
                assert a.available >= 0, f"{a.id} is overdrawn: available {a.available}"
            assert min(a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending) >= 0, a
        assert all(total == 0 for total in balances.values()), f"balances do not sum to zero: {balances}"
        assert all(total == 0 for total in pending.values()), f"pending debits != pending credits: {pending}"

    @invariant()
    def the_last_accepted_transaction_is_idempotent(self) -> None:
        """Resubmitting the latest accepted transaction returns its receipt and changes nothing.

        Skipped while a hold is due, since any submit would expire it first.
        """
        if self.last_accepted is None or self._due():
            return
        entry = self.entries[self.last_accepted]
        receipt = self.ledger.submit(entry.signed)
        assert receipt.duplicate and (receipt.seq, receipt.hash) == (entry.receipt.seq, entry.receipt.hash)
        # Any change to the counters shows in the_ledger_agrees_with_the_model.
        assert self.ledger.info().transactions == self.journal_length, "a duplicate was journaled"

    def _due(self) -> bool:
        now = self.clock()
        return self.unswept > 0 or any(h.status == "pending" and h.expires_at <= now for h in self.holds_model.values())


class _Populate:
    """``populate_template`` bound to a machine class, hashable by the function it runs.

    Subclasses that do not override ``populate_template`` share one template.
    """

    def __init__(self, cls: type[LedgerStateMachine], func: Callable[..., None]) -> None:
        self.cls = cls
        self.func = func

    def __call__(self, ledger: Ledger) -> None:
        self.func(self.cls, ledger)

    def __hash__(self) -> int:
        return hash(self.func)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Populate) and other.func is self.func


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


LedgerStateMachine.TestCase.settings = LedgerStateMachine.hypothesis_settings
