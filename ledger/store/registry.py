"""The registry's tables: participants and their keys, assets, stablecoin issuers, and accounts.

The book writes what registry entries of a chunk registered here, and loads
(and locks) the accounts a chunk touches; readers list them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import or_, select, update

from wonledger.domain.model import Account, KeyRecord, Participant
from wonledger.domain.money import Asset
from wonledger.store import tables as t
from wonledger.store.rows import Repository, chunks
from wonledger.store.rows import account as account_of
from wonledger.store.rows import asset as asset_of
from wonledger.store.rows import participant as participant_of


class Registry(Repository):
    """Participants, keys, assets, issuers and accounts, inside one unit of work."""

    def ledger_id(self) -> str:
        return self.conn.execute(select(t.meta.c.value).where(t.meta.c.key == "ledger_id")).scalar_one()

    def participants(self) -> list[Participant]:
        rows = self.conn.execute(select(t.participants).order_by(t.participants.c.id))
        return [participant_of(r) for r in rows]

    def participant(self, pid: str) -> Participant | None:
        row = self.conn.execute(select(t.participants).where(t.participants.c.id == pid)).first()
        return participant_of(row) if row else None

    def participants_by_id(self, ids: Iterable[str]) -> dict[str, Participant]:
        found: dict[str, Participant] = {}
        for part in chunks(sorted(set(ids))):
            for row in self.conn.execute(select(t.participants).where(t.participants.c.id.in_(part))):
                found[row.id] = participant_of(row)
        return found

    def key_histories(self, ids: Iterable[str]) -> dict[str, list[KeyRecord]]:
        """Each named participant's keys, oldest first."""
        found: dict[str, list[KeyRecord]] = {}
        keys = t.participant_keys
        for part in chunks(sorted(set(ids))):
            query = select(keys).where(keys.c.participant.in_(part)).order_by(keys.c.participant, keys.c.valid_from)
            for r in self.conn.execute(query):
                found.setdefault(r.participant, []).append(KeyRecord(r.participant, bytes(r.public_key), r.valid_from, r.retired_at, r.reason))
        return found

    def addparticipant_of(self, p: Participant, at: str = "1970-01-01T00:00:00.000000Z") -> None:
        """Register ``p``; its key is its current key from ``at`` on."""
        self.conn.execute(
            t.participants.insert(),
            [{"id": p.id, "kind": p.kind, "jurisdiction": p.jurisdiction, "resident": p.resident, "public_key": p.public_key, "registrar": p.registrar}],
        )
        self.conn.execute(
            t.participant_keys.insert(),
            [{"participant": p.id, "public_key": p.public_key, "valid_from": at, "retired_at": None, "reason": None}],
        )

    def key_history(self, participant: str | None = None) -> list[KeyRecord]:
        """Every key each participant has had (or one participant's), oldest first."""
        query = select(t.participant_keys).order_by(t.participant_keys.c.participant, t.participant_keys.c.valid_from)
        if participant is not None:
            query = query.where(t.participant_keys.c.participant == participant)
        return [
            KeyRecord(r.participant, bytes(r.public_key), r.valid_from, r.retired_at, r.reason)
            for r in self.conn.execute(query)
        ]

    def current_keys(self, participants: Iterable[str]) -> dict[str, bytes]:
        """The registered key of each named participant (what signs from now on)."""
        found: dict[str, bytes] = {}
        for part in chunks(sorted(set(participants))):
            query = select(t.participants.c.id, t.participants.c.public_key).where(t.participants.c.id.in_(part))
            found.update((r.id, bytes(r.public_key)) for r in self.conn.execute(query))
        return found

    def append_registry(
        self,
        participants: Sequence[Participant],
        new_keys: Sequence[KeyRecord],
        retired_keys: Sequence[KeyRecord],
        assets: Sequence[Asset],
        issuers: Sequence[tuple[str, str, str]],
        accounts: Sequence[Account],
    ) -> None:
        """Write what registry entries of a chunk registered (before the chunk's counters)."""
        keys = t.participant_keys
        if participants:
            self.conn.execute(
                t.participants.insert(),
                [{"id": p.id, "kind": p.kind, "jurisdiction": p.jurisdiction, "resident": p.resident, "public_key": p.public_key, "registrar": p.registrar} for p in participants],
            )
        for k in retired_keys:
            self.conn.execute(
                update(keys).where(keys.c.participant == k.participant, keys.c.public_key == k.public_key).values(retired_at=k.retired_at, reason=k.reason)
            )
        if new_keys:
            self.conn.execute(
                keys.insert(),
                [{"participant": k.participant, "public_key": k.public_key, "valid_from": k.valid_from, "retired_at": None, "reason": None} for k in new_keys],
            )
            current = {k.participant: k.public_key for k in new_keys}
            for pid, key in current.items():
                self.conn.execute(update(t.participants).where(t.participants.c.id == pid).values(public_key=key))
        for a in assets:
            self.add_asset(a)
        if issuers:
            self.conn.execute(t.issuers.insert(), [{"asset": a, "issuer": i, "registered_at": at} for a, i, at in issuers])
        for account in accounts:
            self.add_account(account)

    def assets(self) -> list[Asset]:
        return [asset_of(r) for r in self.conn.execute(select(t.assets).order_by(t.assets.c.code))]

    def asset(self, code: str) -> Asset | None:
        row = self.conn.execute(select(t.assets).where(t.assets.c.code == code)).first()
        return asset_of(row) if row else None

    def add_asset(self, a: Asset) -> None:
        self.conn.execute(
            t.assets.insert(),
            [{"code": a.code, "currency": a.currency, "kind": a.kind, "exponent": a.exponent, "issuer": a.issuer}],
        )

    def issuers(self) -> dict[str, str]:
        """Registered stablecoins and their issuers: asset code → participant id."""
        return {r.asset: r.issuer for r in self.conn.execute(select(t.issuers.c.asset, t.issuers.c.issuer))}

    def add_account(self, a: Account) -> None:
        self.conn.execute(
            t.accounts.insert(),
            [
                {
                    "id": a.id,
                    "owner": a.owner,
                    "asset": a.asset,
                    "flags": ",".join(sorted(a.flags)),
                    "label": a.label,
                    "debits_posted": 0,
                    "credits_posted": 0,
                    "debits_pending": 0,
                    "credits_pending": 0,
                }
            ],
        )

    def accounts(self, ids: Iterable[str], lock: bool = False) -> dict[str, Account]:
        """The named accounts; with ``lock``, row locks taken in account-id order."""
        found: dict[str, Account] = {}
        wanted = sorted(set(ids))
        for part in chunks(wanted):
            query = select(t.accounts).where(t.accounts.c.id.in_(part)).order_by(t.accounts.c.id)
            if lock and self.locking:
                query = query.with_for_update()
            for row in self.conn.execute(query):
                found[row.id] = account_of(row)
        return found

    def reserve_and_issuance_accounts(self, issuers: Iterable[str]) -> list[str]:
        """Ids of the reserve accounts and stablecoin issuance accounts of ``issuers``."""
        wanted = sorted(set(issuers))
        if not wanted:
            return []
        query = (
            select(t.accounts.c.id)
            .select_from(t.accounts.join(t.assets, t.assets.c.code == t.accounts.c.asset))
            .where(
                t.accounts.c.owner.in_(wanted),
                or_(t.accounts.c.flags.like("%reserve%"), (t.assets.c.kind == "stablecoin") & t.accounts.c.flags.like("%issuance%")),
            )
        )
        return list(self.conn.execute(query).scalars())

    def all_accounts(self, owner: str | None = None, asset: str | None = None) -> list[Account]:
        query = select(t.accounts).order_by(t.accounts.c.id)
        if owner is not None:
            query = query.where(t.accounts.c.owner == owner)
        if asset is not None:
            query = query.where(t.accounts.c.asset == asset)
        return [account_of(r) for r in self.conn.execute(query)]

    def keys_at(self, participants: Iterable[str], at: str) -> dict[str, bytes]:
        """Each participant's public key as it was at ``at`` (from the key history), else its current one."""
        wanted = sorted(set(participants))
        found: dict[str, bytes] = {}
        for part in chunks(wanted):
            query = select(t.participant_keys.c.participant, t.participant_keys.c.public_key).where(
                t.participant_keys.c.participant.in_(part),
                t.participant_keys.c.valid_from <= at,
                or_(t.participant_keys.c.retired_at.is_(None), t.participant_keys.c.retired_at > at),
            )
            found.update((r.participant, bytes(r.public_key)) for r in self.conn.execute(query))
            current = select(t.participants.c.id, t.participants.c.public_key).where(t.participants.c.id.in_(part))
            for r in self.conn.execute(current):
                found.setdefault(r.id, bytes(r.public_key))
        return found

    def issuer_registrations(self) -> list[tuple[str, str, str]]:
        """(asset, issuer, registered_at) of every registered stablecoin issuer, by asset."""
        query = select(t.issuers.c.asset, t.issuers.c.issuer, t.issuers.c.registered_at).order_by(t.issuers.c.asset)
        return [(r.asset, r.issuer, r.registered_at) for r in self.conn.execute(query)]
