"""Minting and redeeming stablecoins at par against deposit tokens.

A mint is one transaction of two legs, signed by the holder and the issuer:
the holder's deposit tokens go into the issuer's reserve account and the
issuer's stablecoins come out of its issuance account. A redemption is the
reverse. The book refuses either if it would leave the reserve below supply.
"""

from __future__ import annotations

from wonledger.domain.errors import AssetMismatch, BadAmount
from wonledger.domain.model import Leg, Tx, account_id
from wonledger.domain.money import Asset
from wonledger.flows.transfers import new_tx_id


def at_par(amount: int, coin: Asset, backing: Asset) -> int:
    """``amount`` of ``coin`` in minor units of ``backing`` (same currency), exactly."""
    if coin.currency != backing.currency:
        raise AssetMismatch(f"{coin.code} is {coin.currency} but {backing.code} is {backing.currency}: par needs one currency")
    shift = backing.exponent - coin.exponent
    if shift >= 0:
        return amount * 10**shift
    whole, rest = divmod(amount, 10**-shift)
    if rest:
        raise BadAmount(f"{amount} minor units of {coin.code} have no exact equal in {backing.code}")
    return whole


def reserve_account(coin: Asset, backing: Asset) -> str:
    return account_id(coin.issuer, backing.code, "reserve")


def mint_tx(ledger: str, coin: Asset, backing: Asset, holder: str, amount: int, *, tx_id: str | None = None, memo: str = "") -> Tx:
    """``holder`` pays ``backing`` into ``coin``'s reserve and receives ``amount`` of ``coin``."""
    legs = (
        Leg(account_id(holder, backing.code), reserve_account(coin, backing), backing.code, at_par(amount, coin, backing)),
        Leg(account_id(coin.issuer, coin.code), account_id(holder, coin.code), coin.code, amount),
    )
    return Tx(ledger=ledger, id=new_tx_id("mint") if tx_id is None else tx_id, kind="mint", memo=memo, legs=legs)


def redeem_tx(ledger: str, coin: Asset, backing: Asset, holder: str, amount: int, *, tx_id: str | None = None, memo: str = "") -> Tx:
    """``holder`` returns ``amount`` of ``coin`` and receives ``backing`` from the reserve at par."""
    legs = (
        Leg(account_id(holder, coin.code), account_id(coin.issuer, coin.code), coin.code, amount),
        Leg(reserve_account(coin, backing), account_id(holder, backing.code), backing.code, at_par(amount, coin, backing)),
    )
    return Tx(ledger=ledger, id=new_tx_id("redeem") if tx_id is None else tx_id, kind="redeem", memo=memo, legs=legs)
