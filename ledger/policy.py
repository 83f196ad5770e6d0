"""The policy the ledger encodes (DESIGN section 1), as checks the book and registry run.

So far: **residency**. Tokenized deposits are for domestic use: only a
resident of the issuing bank's jurisdiction may hold one, so an account in
a deposit token opens only for such a resident, and no leg may credit a
deposit token to anyone else (whoever signed it, however it arrived).
"""

from __future__ import annotations

from ledger.errors import Residency
from ledger.model import Participant
from ledger.money import Asset

DEPOSIT_TOKEN = "deposit_token"


def may_hold(holder: Participant, asset: Asset, issuer: Participant) -> bool:
    """Whether ``holder`` may hold ``asset`` under the residency rule."""
    if asset.kind != DEPOSIT_TOKEN:
        return True
    return holder.resident and holder.jurisdiction == issuer.jurisdiction


def require_residency(holder: Participant, asset: Asset, issuer: Participant) -> None:
    if not may_hold(holder, asset, issuer):
        where = "a resident of" if holder.resident else "not a resident of"
        raise Residency(
            f"{holder.id} ({where} {holder.jurisdiction}) may not hold {asset.code}: "
            f"deposit tokens of {issuer.id} are for residents of {issuer.jurisdiction} only"
        )
