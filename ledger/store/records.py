"""What the ledger keeps beside the journal that no replay derives: quotes, refusals, checkpoints and meta.

Quotes are a dealer's offers, each signed by the dealer (which transaction
took one is a control row, see :mod:`wonledger.store.controls`); refusals
are kept for people to read; checkpoints are the operator's signed Merkle
roots.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy import delete, func, select

from wonledger.domain.model import Quote, Refusal
from wonledger.store import tables as t
from wonledger.store.rows import Repository
from wonledger.store.rows import quote as quote_of


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    seq: int
    root: str
    at: str
    signature: str
    operator_key: str


class Records(Repository):
    """Quotes, refusals, checkpoints, meta and counts, inside one unit of work."""

    def add_quote(self, q: Quote) -> None:
        """Keep a dealer's offer (once: a write run again after its commit was cut off finds it kept)."""
        if self.conn.execute(select(t.quotes.c.id).where(t.quotes.c.id == q.quote_id)).first() is not None:
            return
        self.conn.execute(
            t.quotes.insert(),
            [
                {
                    "id": q.quote_id,
                    "dealer": q.dealer,
                    "sell_asset": q.sell_asset,
                    "buy_asset": q.buy_asset,
                    "sell_amount": q.sell_amount,
                    "fee": q.fee,
                    "buy_amount": q.buy_amount,
                    "rate": q.rate,
                    "source": q.source,
                    "created_at": q.created_at,
                    "expires_at": q.expires_at,
                    "signature": q.signature,
                }
            ],
        )

    def quote(self, quote_id: str) -> Quote | None:
        """The offer ``quote_id`` as stored, with the transaction that took it (if one did)."""
        row = self.conn.execute(select(t.quotes).where(t.quotes.c.id == quote_id)).first()
        if row is None:
            return None
        used_by = self.conn.execute(select(t.quote_uses.c.tx_id).where(t.quote_uses.c.quote_id == quote_id)).scalar()
        return replace(quote_of(row), used_by=used_by)

    def add_rejections(self, rejections: Sequence[Refusal]) -> None:
        """Keep the refusals of a chunk, for people to read (``rejections``)."""
        if rejections:
            self.conn.execute(
                t.rejections.insert(),
                [
                    {"at": r.at, "who": r.who[:256], "tx_id": r.tx_id, "kind": r.kind, "what": r.what, "code": r.code, "message": r.message}
                    for r in rejections
                ],
            )

    def all_quotes(self) -> list[Quote]:
        """Every offer stored (what verify checks the dealer's signature of; no rule reads them)."""
        return [quote_of(r) for r in self.conn.execute(select(t.quotes).order_by(t.quotes.c.id))]

    def rejections(self, limit: int | None = None, code: str | None = None) -> list[Refusal]:
        """Refusals, newest first."""
        query = select(t.rejections).order_by(t.rejections.c.id.desc())
        if code is not None:
            query = query.where(t.rejections.c.code == code)
        if limit is not None:
            query = query.limit(limit)
        return [Refusal(r.at, r.who, r.tx_id, r.kind, r.what, r.code, r.message) for r in self.conn.execute(query)]

    def meta(self, key: str) -> str | None:
        return self.conn.execute(select(t.meta.c.value).where(t.meta.c.key == key)).scalar()

    def meta_keys(self, prefix: str) -> list[str]:
        """The meta keys that start with ``prefix``, in order."""
        rows = self.conn.execute(select(t.meta.c.key).where(t.meta.c.key.startswith(prefix, autoescape=True)).order_by(t.meta.c.key))
        return [r.key for r in rows]

    def delete_meta(self, key: str) -> None:
        self.conn.execute(delete(t.meta).where(t.meta.c.key == key))

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute(t.meta.insert(), [{"key": key, "value": value}])

    def latest_checkpoint(self) -> StoredCheckpoint | None:
        row = self.conn.execute(select(t.checkpoints).order_by(t.checkpoints.c.seq.desc()).limit(1)).first()
        return StoredCheckpoint(row.seq, row.root, row.at, row.signature, row.operator_key) if row else None

    def checkpoints(self) -> list[StoredCheckpoint]:
        rows = self.conn.execute(select(t.checkpoints).order_by(t.checkpoints.c.seq))
        return [StoredCheckpoint(r.seq, r.root, r.at, r.signature, r.operator_key) for r in rows]

    def add_checkpoint(self, c: StoredCheckpoint) -> None:
        self.conn.execute(
            t.checkpoints.insert(),
            [{"seq": c.seq, "root": c.root, "at": c.at, "signature": c.signature, "operator_key": c.operator_key}],
        )

    def counts(self) -> tuple[int, int]:
        transactions = self.conn.execute(select(func.count()).select_from(t.journal)).scalar_one()
        accounts = self.conn.execute(select(func.count()).select_from(t.accounts)).scalar_one()
        return transactions, accounts
