"""Reconciliation and audit over one ledger: statements, reconcile, trial balance, checkpoints, proofs.

This module joins the pure parts (:mod:`ledger.reconcile` statements and
matching, :mod:`ledger.proofs` trees and verification) to a ledger's store
and keys. Nothing here changes a balance: statements and proofs are reads,
and a checkpoint is a signed note beside the journal, not an entry in it.
The operator key that signs checkpoints is made at ``init`` (or, for a
ledger made before checkpoints existed, at its first ``checkpoint``); its
public half is kept in the ledger's ``meta`` table, its private half in the
key directory (see :class:`ledger.signing.KeyStore`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, BinaryIO, TextIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from wonledger.domain import chain
from wonledger.domain.errors import (
    AssetMismatch,
    BadInput,
    BadStatement,
    IntegrityProblem,
    KeyUnavailable,
    UnknownAccount,
    UnknownParticipant,
    UnknownTransaction,
)
from wonledger.domain.model import Account
from wonledger.audit.anchors import Anchor, verify_anchored
from wonledger.audit.proofs import (
    PROOF_FORMAT,
    Checkpoint,
    checkpoint_payload,
    consistency_json,
    consistency_path,
    inclusion_path,
    leaf_hash,
    merkle_root,
)
from wonledger.statements import camt053, csvfile
from wonledger.statements.matching import BALANCE_MISMATCH, BookedLeg, Break, Matcher, ReconcileReport

__all__ = [
    "Checkpoint",
    "ReconcileReport",
    "StatementSummary",
    "TrialBalanceRow",
    "build_proof",
    "consistency",
    "ensure_operator_key",
    "load_account_map",
    "make_checkpoint",
    "previous_checkpoint",
    "reconcile",
    "trial_balance",
    "validate_statement",
    "write_statement",
]
from wonledger.statements.statement import (
    BOOKED,
    MAX34,
    StatementEntry,
    StatementHeader,
    StatementReader,
    read_statements,
    servicer_ref,
    short_ref,
    uetr_for,
)
from wonledger.domain.signing import b64url, public_bytes
from wonledger.store import AccountLeg, GENESIS_HASH, OPERATOR_META, StoredCheckpoint, UnitOfWork

if TYPE_CHECKING:
    from wonledger.service.facade import Ledger

FORMATS = ("camt053", "csv")


# -- the operator key ---------------------------------------------------------------


def ensure_operator_key(ledger: Ledger) -> Ed25519PrivateKey:
    """The operator key of this ledger, made (and its public half registered) if it has none yet."""
    store, keys = ledger.store, ledger.keys
    public = store.reading(lambda uow: uow.records.meta(OPERATOR_META))
    if public is None:
        path = keys.operator_path(store.ledger_id)
        key = keys.load_operator(store.ledger_id) if path.exists() else keys.create_operator(store.ledger_id)

        def register(uow: UnitOfWork) -> str:
            # (the book queues this behind its writers: one registration even if two first checkpoints race)
            existing = uow.records.meta(OPERATOR_META)
            if existing is None:
                existing = b64url(public_bytes(key))
                uow.records.set_meta(OPERATOR_META, existing)
            return existing

        public = ledger.book.record(register)
    key = keys.load_operator(store.ledger_id)
    if b64url(public_bytes(key)) != public:
        raise KeyUnavailable(
            f"{keys.operator_path(store.ledger_id)} is not the operator key this ledger registered ({public})"
        )
    return key


# -- checkpoints --------------------------------------------------------------------


def _checkpoint(ledger_id: str, c: StoredCheckpoint) -> Checkpoint:
    return Checkpoint(ledger_id, c.seq, c.root, c.at, c.signature, c.operator_key)


def make_checkpoint(ledger: Ledger, since: Checkpoint | None = None) -> tuple[Checkpoint, bool]:
    """Sign a checkpoint at the journal's head; returns it and whether it is new.

    The operator signs only a journal that verifies, held to its own key (the
    private half in the key directory) and to ``since``, a checkpoint saved
    earlier, when given: a checkpoint vouches for what it covers, so signing
    a damaged, truncated or rewritten journal would launder it.
    """
    store = ledger.store
    operator = ensure_operator_key(ledger)
    seq, _ = store.reading(lambda uow: uow.journal.head())
    if seq == 0:
        raise BadInput("the journal is empty: there is nothing to checkpoint yet")
    own_key = b64url(public_bytes(operator))
    report = verify_anchored(store, Anchor(own_key, since, needs_checkpoint=False))
    if not report.ok:
        first = report.problems[0]
        raise IntegrityProblem(
            f"refusing to sign a journal that does not verify: {len(report.problems)} problem(s), the first "
            f"{first.kind}: {'tx ' + first.tx + ': ' if first.tx else ''}{first.detail}"
        )
    seq = report.transactions  # exactly what was verified, even if more entries have landed since
    latest = store.reading(lambda uow: uow.records.latest_checkpoint())
    if latest is not None and latest.seq == seq:
        return _checkpoint(ledger.id, latest), False
    root = merkle_root(leaf_hash(h) for _, h in store.stream_hashes(seq)).hex()
    at = chain.iso(ledger.book.clock())
    signature = b64url(operator.sign(checkpoint_payload(ledger.id, seq, root, at)))
    made = StoredCheckpoint(seq, root, at, signature, own_key)

    def write(uow: UnitOfWork) -> tuple[StoredCheckpoint, bool]:
        existing = uow.records.latest_checkpoint()
        if existing is not None and existing.seq >= seq:
            return existing, False
        uow.records.add_checkpoint(made)
        return made, True

    kept, new = ledger.book.record(write)
    return _checkpoint(ledger.id, kept), new


def previous_checkpoint(ledger: Ledger, before: int) -> Checkpoint | None:
    """The latest stored checkpoint covering fewer than ``before`` entries."""
    earlier = [c for c in ledger.store.reading(lambda uow: uow.records.checkpoints()) if c.seq < before]
    return _checkpoint(ledger.id, earlier[-1]) if earlier else None


def consistency(ledger: Ledger, old: Checkpoint, new: Checkpoint) -> dict[str, object]:
    """RFC 9162's proof that checkpoint ``new`` extends ``old``, as the ``consistency`` member of ``new``'s file."""
    if old.ledger != ledger.id or new.ledger != ledger.id:
        raise BadInput(f"a checkpoint of ledger {old.ledger if old.ledger != ledger.id else new.ledger}, not of this ledger {ledger.id}")
    if old.seq > new.seq:
        raise BadInput(f"checkpoint {old.seq} is later than checkpoint {new.seq}")
    path, root = consistency_path(old.seq, new.seq, (leaf_hash(h) for _, h in ledger.store.stream_hashes(new.seq)))
    old_root = merkle_root(leaf_hash(h) for _, h in ledger.store.stream_hashes(old.seq)).hex()
    if root.hex() != new.root or old_root != old.root:
        raise IntegrityProblem(f"the journal no longer gives the roots of checkpoints {old.seq} and {new.seq}")
    return consistency_json(old.seq, old.root, path)


def latest_checkpoint(ledger: Ledger) -> Checkpoint | None:
    found = ledger.store.reading(lambda uow: uow.records.latest_checkpoint())
    return _checkpoint(ledger.id, found) if found else None


# -- inclusion proofs -----------------------------------------------------------------


def build_proof(ledger: Ledger, tx_id: str) -> dict[str, object]:
    """A transaction, its signatures, its path to the latest checkpoint and that checkpoint, as JSON."""
    store = ledger.store
    found = store.reading(lambda uow: uow.journal.entry(tx_id))
    if found is None:
        raise UnknownTransaction(f"no transaction {tx_id}")
    entry = found[0]
    cp = store.reading(lambda uow: uow.records.latest_checkpoint())
    if cp is None or cp.seq < entry.seq:
        where = f"the latest checkpoint covers entries 1 to {cp.seq}" if cp else "there is no checkpoint yet"
        raise BadInput(f"{tx_id} is entry {entry.seq} and {where}", hint="checkpoint")
    previous = GENESIS_HASH if entry.seq == 1 else store.reading(lambda uow: uow.journal.entry_hash(entry.seq - 1))
    path, root = inclusion_path(entry.seq - 1, cp.seq, (leaf_hash(h) for _, h in store.stream_hashes(cp.seq)))
    if root.hex() != cp.root:
        raise IntegrityProblem(f"the journal no longer gives checkpoint {cp.seq}'s root", hint="verify")
    signatures = [dict(sorted(s.to_wire().items())) for s in entry.signed.signatures]  # as stored: canonical JSON sorts keys
    signers = {s["signer"] for s in signatures}
    # The keys that signed then: a participant whose key has since been rotated signed with its old one.
    keys = {pid: b64url(key) for pid, key in store.reading(lambda uow: uow.registry.keys_at(signers, entry.at)).items()}
    return {
        "format": PROOF_FORMAT,
        "ledger": ledger.id,
        "entry": {
            "seq": entry.seq,
            "at": entry.at,
            "tx": json.loads(entry.body),
            "signatures": signatures,
            "previous_hash": previous,
            "hash": entry.hash,
        },
        "signer_keys": keys,
        "inclusion": {"leaf_index": entry.seq - 1, "tree_size": cp.seq, "path": [p.hex() for p in path]},
        "checkpoint": _checkpoint(ledger.id, cp).to_json(),
    }


# -- statements ---------------------------------------------------------------------


def check_day(text: str | None, what: str) -> str | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise BadInput(f"{what} {text!r} is not a date (YYYY-MM-DD)") from None


def _next_day(day: str | None) -> str | None:
    return None if day is None else (date.fromisoformat(day) + timedelta(days=1)).isoformat()


def _booked(ledger_id: str, account: str, leg: AccountLeg) -> BookedLeg:
    return BookedLeg(
        tx_id=leg.tx_id,
        seq=leg.seq,
        idx=leg.idx,
        kind=leg.kind,
        amount=leg.amount,
        credit=leg.credit == account,
        booking_date=leg.at[:10],
        servicer_ref=servicer_ref(ledger_id, leg.seq, leg.idx),
        uetr=uetr_for(ledger_id, leg.tx_id),
    )


def statement_reference(prefix: str, ledger_id: str, account: str, from_date: str, to_date: str, upto: int) -> str:
    """A statement's (``S``) or message's (``M``) id: unique per ledger, account, period and journal position.

    ``<prefix><journal head seq>-`` and hex digits of SHA-256 over all four, 35
    characters in all (ISO 20022's Max35Text): no table is needed to keep it
    unique, and the same statement exported again gets the same id.
    """
    head = f"{prefix}{upto}-"
    digest = hashlib.sha256(f"{prefix}\x00{ledger_id}\x00{account}\x00{from_date}\x00{to_date}\x00{upto}".encode()).hexdigest()
    return head + digest[: 35 - len(head)]


@dataclass(frozen=True, slots=True)
class StatementSummary:
    account: str
    format: str
    entries: int
    opening: int
    closing: int
    from_date: str
    to_date: str


def write_statement(
    ledger: Ledger,
    account_name: str,
    fmt: str,
    out: TextIO,
    since: str | None = None,
    until: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> StatementSummary:
    """Write ``account``'s statement (camt.053 or CSV) for [since, until] (dates, inclusive) to ``out``.

    ``progress(advanced, total)`` is told every thousand entries how far the writing got.
    """
    if fmt not in FORMATS:
        raise BadInput(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    since, until = check_day(since, "the first day"), check_day(until, "the last day")
    if since and until and since > until:
        raise BadInput(f"the first day {since} is after the last day {until}")
    account = ledger.resolve_account(account_name)
    asset = ledger.asset(account.asset)
    store = ledger.store
    upto, _ = store.reading(lambda uow: uow.journal.head())
    end = _next_day(until)

    def balance_before(before: str | None) -> int:
        debits, credits = store.reading(lambda uow: uow.statements.account_posted_before(account.id, before, upto))
        return credits - debits

    opening = balance_before(since) if since else 0
    closing = balance_before(end)
    first, last, total = store.reading(lambda uow: uow.statements.account_leg_span(account.id, since, end, upto))
    today = chain.iso(ledger.book.clock())[:10]
    from_date = since or (first[:10] if first else today)
    to_date = until or max(today, last[:10] if last else today)
    header = StatementHeader(
        account=account.id,
        currency=asset.currency,
        asset=asset.code,
        from_date=from_date,
        to_date=to_date,
        opening=opening,
        closing=closing,
        statement_id=statement_reference("S", ledger.id, account.id, from_date, to_date, upto),
        message_id=statement_reference("M", ledger.id, account.id, from_date, to_date, upto),
        sequence=upto,
    )

    def entries() -> Iterator[StatementEntry]:
        for n, leg in enumerate(store.stream_account_legs(account.id, since, end, upto, with_memo=True), 1):
            if progress is not None and n % 1000 == 0:
                progress(1000, total)
            booked = _booked(ledger.id, account.id, leg)
            yield StatementEntry(
                amount=leg.amount,
                credit=booked.credit,
                currency=asset.currency,
                booking_date=booked.booking_date,
                value_date=booked.booking_date,
                status=BOOKED,
                servicer_ref=booked.servicer_ref,
                end_to_end_id=leg.tx_id,
                uetr=booked.uetr,
                kind=leg.kind,
                memo=leg.memo or None,
            )

    if fmt == "camt053":
        count = camt053.write(out, header, entries(), asset.exponent, chain.iso(ledger.book.clock())[:19] + "+00:00")
    else:
        count = csvfile.write(out, header, entries(), asset.exponent)
    if progress is not None:
        progress(count % 1000, total)
    return StatementSummary(account.id, fmt, count, opening, closing, from_date, to_date)


def validate_statement(path: str, limit: int = 20) -> list[str]:
    """What the official ISO 20022 schema (camt.053.001.08) finds wrong with a statement file; empty when valid."""
    return camt053.schema_problems(path, limit)


def load_account_map(path: str) -> dict[str, str]:
    """A TOML file's ``[accounts]`` table: the account id a bank's statement gives (an IBAN …) → a ledger account."""
    import tomllib

    try:
        with open(path, "rb") as f:
            document = tomllib.load(f)
    except FileNotFoundError:
        raise BadInput(f"no file {path}") from None
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path} is not a TOML account map: {exc}") from None
    table = document.get("accounts")
    if not isinstance(table, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in table.items()):
        raise BadInput(f'{path} needs an [accounts] table of "statement account id" = "ledger account" lines')
    return {"".join(k.split()): v for k, v in table.items()}  # an IBAN may be written in groups of four


def _compact(external: str | None) -> str | None:
    return "".join(external.split()) if external else external


def reconcile(
    ledger: Ledger,
    stream: BinaryIO,
    account_name: str | None,
    tolerance_days: int = 1,
    progress: Callable[[int], None] | None = None,
    *,
    all_statements: bool = False,
    statement_account: str | None = None,
    account_map: dict[str, str] | None = None,
) -> ReconcileReport:
    """Match a statement file against the ledger; every difference is a break in the report.

    The file may hold several statements (camt ``Stmt``/``Rpt``/``Ntfctn``,
    MT940 ``:20:`` blocks). With ``account_name``, those of that account are
    reconciled: the statement's own account id must be the ledger account's
    id (or the short reference a long one is written as), ``statement_account``
    (the id the bank uses, an IBAN say), or map to it in ``account_map``; a
    file with no statement of the account is refused. With
    ``all_statements``, every statement is reconciled against the ledger
    account its id names or maps to, and one that names none is refused.
    """
    if tolerance_days < 0:
        raise BadInput("the value-date tolerance cannot be negative")
    if account_name is None and not all_statements:
        raise BadInput("name the ledger account the statement is of, or reconcile every statement of the file", hint="reconcile-which")
    mapping = {_compact(k) or k: v for k, v in (account_map or {}).items()}  # an IBAN may be written in groups of four
    target: Account | None = ledger.resolve_account(account_name) if account_name else None
    accepted: set[str] = set()
    if target is not None:
        accepted = {target.id, short_ref(target.id, MAX34)}
        if statement_account:
            accepted.add(_compact(statement_account) or "")
        accepted |= {k for k, v in mapping.items() if ledger.resolve_account(v).id == target.id}
    store = ledger.store
    upto, _ = store.reading(lambda uow: uow.journal.head())
    seen: list[str] = []
    chosen: dict[int, Account] = {}

    def ledger_account(header: StatementHeader) -> Account | None:
        external = _compact(header.external_account)
        if target is not None and (external is None or external in accepted):
            return target
        if not all_statements:
            return None
        if external is None:
            raise BadStatement(f"statement {header.statement_id or len(seen)} names no account", hint="reconcile-account")
        if external in mapping:
            return ledger.resolve_account(mapping[external])
        try:
            return ledger.account(external) if ":" in external else ledger.resolve_account(external)
        except (UnknownAccount, UnknownParticipant, BadInput):
            raise BadStatement(
                f"statement {header.statement_id or len(seen)} is of account {external}, which is no ledger account",
                hint="account-map",
            ) from None

    def choose(header: StatementHeader) -> int | None:
        seen.append(_compact(header.external_account) or "(none)")
        account = ledger_account(header)
        if account is None:
            return None
        asset = ledger.asset(account.asset)
        if header.currency and header.currency != asset.currency:
            raise AssetMismatch(
                f"statement {header.statement_id or len(seen)} is in {header.currency} but {account.id} holds {asset.code} ({asset.currency})"
            )
        chosen[id(header)] = account
        return asset.exponent

    total = ReconcileReport(target.id if target else "")
    for reader in read_statements(stream, choose, progress):
        account = chosen[id(reader.header)]
        total.add(_reconcile_one(ledger, reader, account, tolerance_days, upto))
    if not total.statements:
        names = ", ".join(dict.fromkeys(seen)) or "none"
        raise BadStatement(
            f"the file holds no statement of {target.id if target else 'any account'} (its statements are of: {names})",
            hint="statement-account",
        )
    return total


def _reconcile_one(ledger: Ledger, reader: StatementReader, account: Account, tolerance_days: int, upto: int) -> ReconcileReport:
    asset = ledger.asset(account.asset)
    store = ledger.store
    header = reader.header
    report = ReconcileReport(account.id, reader.format)

    def period() -> tuple[str | None, str | None]:
        return header.from_date, header.to_date

    def legs() -> Iterator[BookedLeg]:
        if header.currency and header.currency != asset.currency:
            raise AssetMismatch(f"the statement is in {header.currency} but {account.id} holds {asset.code} ({asset.currency})")
        start, end = period()
        matcher.period = (start, end)
        if start is None and header.partial and matcher.first_day is not None:
            # a notification without a period: its legs lie around its entries, not back to the account's opening
            start = date.fromordinal(matcher.first_day - matcher.window).isoformat()
        for leg in store.stream_account_legs(account.id, start, _next_day(end), upto):
            yield _booked(ledger.id, account.id, leg)

    def lookup(tx_ids: list[str]) -> list[BookedLeg]:
        found = store.reading(lambda uow: uow.statements.account_legs_of(account.id, tx_ids))
        return [_booked(ledger.id, account.id, leg) for leg in found if leg.seq <= upto]

    matcher = Matcher(report, asset.currency, lookup, (None, None), tolerance_days, own_prefix=f"{ledger.id}:", partial=header.partial)
    matcher.run(reader, legs)
    report.statement_id = header.statement_id
    report.statement_account = header.external_account
    start, end = period()
    for code, stated, before, day in (
        ("OPBD", header.opening, start, start),
        ("CLBD", header.closing, _next_day(end), end),
    ):
        if stated is None:
            continue
        if code == "OPBD" and before is None:
            booked = 0
        else:
            debits, credits = store.reading(lambda uow, b=before: uow.statements.account_posted_before(account.id, b, upto))
            booked = credits - debits
        if booked != stated:
            report.breaks.append(
                Break(BALANCE_MISMATCH, code, {"balance": booked, "date": day}, {"balance": stated, "date": day})
            )
    return report


# -- trial balance --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TrialBalanceRow:
    asset: str
    accounts: int
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int
    journal_posted: int  # what the journal's booked legs add up to
    journal_pending: int  # what its pending holds add up to

    @property
    def balanced(self) -> bool:
        return self.debits_posted == self.credits_posted == self.journal_posted and (
            self.debits_pending == self.credits_pending == self.journal_pending
        )

    def to_json(self) -> dict[str, object]:
        return {
            "asset": self.asset,
            "accounts": self.accounts,
            "debits_posted": self.debits_posted,
            "credits_posted": self.credits_posted,
            "debits_pending": self.debits_pending,
            "credits_pending": self.credits_pending,
            "journal_posted": self.journal_posted,
            "journal_pending": self.journal_pending,
            "balanced": self.balanced,
        }


def trial_balance(ledger: Ledger) -> list[TrialBalanceRow]:
    """Per asset, over every account: total debits against total credits, and both against the journal."""
    ledger.book.expire_due()
    accounts, journal, assets = ledger.store.reading(
        lambda uow: (uow.registry.all_accounts(), uow.statements.booked_totals_by_asset(), uow.registry.assets())
    )
    totals: dict[str, list[int]] = {a.code: [0, 0, 0, 0, 0] for a in assets}
    for a in accounts:
        t = totals.setdefault(a.asset, [0, 0, 0, 0, 0])
        t[0] += 1
        t[1] += a.debits_posted
        t[2] += a.credits_posted
        t[3] += a.debits_pending
        t[4] += a.credits_pending
    for code in journal:
        totals.setdefault(code, [0, 0, 0, 0, 0])
    return [
        TrialBalanceRow(code, n, dp, cp, dq, cq, *journal.get(code, (0, 0)))
        for code, (n, dp, cp, dq, cq) in sorted(totals.items())
    ]
