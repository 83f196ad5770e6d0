"""`ledger.stablecoins`: stablecoins minted and redeemed at par against deposit tokens, and their supply.

Issuers are registered in ``ledger.registry``; here the money moves, and
the supply is shown against the reserve that backs it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, TypedDict

from wonledger.domain.model import RESERVE, AccountSpec, Receipt, Tx, account_id
from wonledger.domain.money import TypedAmount

if TYPE_CHECKING:
    from wonledger.service.facade import Ledger
    from wonledger.service.names import Lookups


class SupplyRow(TypedDict):
    """One stablecoin in :meth:`Stablecoins.supply` (amounts in the coin's minor units)."""

    asset: str
    issuer: str
    supply: int
    reserve: int
    reserve_assets: list[str]
    ratio: str | None  # reserve / supply to four places; None while nothing is issued


class Stablecoins:
    """Minting, redeeming and supply (``ledger.stablecoins``)."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    def mint(self, code: str, amount: int | TypedAmount, holder: str, pay_with: str, *, tx_id: str | None = None, memo: str = "") -> Receipt:
        """``holder`` pays ``pay_with`` deposit tokens into the reserve and receives ``amount`` of ``code`` at par."""
        from wonledger.flows import mint_tx

        ledger = self._ledger  # its id is read inside the build: the read checks the schema once, in its transaction

        def build(names: Lookups) -> tuple[Tx, None, None]:
            coin, backing = names.coin_and_backing(code, pay_with)
            tx = mint_tx(ledger.id, coin, backing, holder, names.minor(amount, coin), tx_id=tx_id, memo=memo)
            return names.opening(tx, [AccountSpec(holder, coin.code), AccountSpec(coin.issuer, backing.code, "reserve", True)]), None, None

        return self._ledger._submit_built(build)

    def redeem(self, code: str, amount: int | TypedAmount, holder: str, to_asset: str, *, tx_id: str | None = None, memo: str = "") -> Receipt:
        """``holder`` returns ``amount`` of ``code`` and receives ``to_asset`` from the reserve at par."""
        from wonledger.flows import redeem_tx

        ledger = self._ledger  # its id is read inside the build: the read checks the schema once, in its transaction

        def build(names: Lookups) -> tuple[Tx, None, None]:
            coin, backing = names.coin_and_backing(code, to_asset)
            tx = redeem_tx(ledger.id, coin, backing, holder, names.minor(amount, coin), tx_id=tx_id, memo=memo)
            return names.opening(tx, [AccountSpec(holder, backing.code), AccountSpec(coin.issuer, backing.code, "reserve", True)]), None, None

        return self._ledger._submit_built(build)

    def supply(self) -> list[SupplyRow]:
        """Per stablecoin: supply, reserve (in the coin's minor units) and what the reserve is held in."""
        registry = self._ledger.registry
        assets = {a.code: a for a in registry.assets()}
        accounts = registry.accounts()
        rows: list[SupplyRow] = []
        for code, issuer in sorted(registry.issuers().items()):
            coin = assets[code]
            issuance = next(a for a in accounts if a.id == account_id(issuer, code))
            supply = -issuance.balance + issuance.debits_pending
            held = [a for a in accounts if a.owner == issuer and RESERVE in a.flags and assets[a.asset].currency == coin.currency]
            reserve = sum(a.available * 10**coin.exponent // 10 ** assets[a.asset].exponent for a in held)
            ratio = None if supply == 0 else str((Decimal(reserve) / Decimal(supply)).quantize(Decimal("0.0001")))
            rows.append({
                "asset": code, "issuer": issuer, "supply": supply, "reserve": reserve,
                "reserve_assets": [a.asset for a in held], "ratio": ratio,
            })
        return rows


__all__ = ["Stablecoins"]
