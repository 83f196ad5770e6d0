"""Loading a world from fixtures: the registry first, then signed funding.

The default world is ``world.toml`` in the fixtures (DESIGN section 2). Keys
for its participants are made in the key store (an existing key is reused,
since a key belongs to its participant, not to one ledger).
"""

from __future__ import annotations

import tomllib
from importlib import resources
from typing import Any

from ledger.errors import BadInput
from ledger.model import Leg, Participant, Tx
from ledger.money import Asset, parse_amount
from ledger.chain import iso, utc_now
from ledger.policy import load_issuer_policy
from ledger.registry import add_asset, open_account, register_issuer
from ledger.signing import KeyStore, public_bytes
from ledger.store import Store, UnitOfWork
from ledger.wire import parse_travel

WORLDS = ("default", "empty")


def world_data(name: str) -> dict[str, Any]:
    if name == "empty":
        return {}
    if name != "default":
        raise BadInput(f"no world {name!r}: choose one of {', '.join(WORLDS)}")
    text = resources.files("wonledger_fixtures").joinpath("world.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def participant_key(keys: KeyStore, participant: str) -> bytes:
    """The public key of ``participant``, making its private key if it has none."""
    key = keys.load(participant) if keys.has(participant) else keys.create(participant)
    return public_bytes(key)


def load_registry(store: Store, keys: KeyStore, data: dict[str, Any]) -> None:
    participants = [
        Participant(
            id=p["id"],
            kind=p["kind"],
            jurisdiction=p["jurisdiction"],
            resident=p.get("resident", True),
            public_key=participant_key(keys, p["id"]),
        )
        for p in data.get("participants", [])
    ]

    def write(uow: UnitOfWork) -> None:
        for p in participants:
            uow.add_participant(p)
        for a in data.get("assets", []):
            add_asset(uow, Asset(a["code"], a["currency"], a["kind"], a["exponent"], a["issuer"]))
        policy = load_issuer_policy()
        for reg in data.get("issuers", []):
            register_issuer(uow, reg["issuer"], reg["asset"], reg["currency"], policy, iso(utc_now()))
        for acc in data.get("accounts", []):
            open_account(uow, acc["owner"], acc["asset"], acc.get("label", ""), reserve=acc.get("reserve", False))

    store.writing(write)


def funding_txs(ledger_id: str, data: dict[str, Any], exponents: dict[str, int]) -> list[Tx]:
    """The world's funding, amounts parsed with the exponents of the ledger's assets."""
    txs = []
    for f in data.get("funding", []):
        legs = tuple(
            Leg(leg["debit"], leg["credit"], leg["asset"], parse_amount(leg["amount"], exponents[leg["asset"]]))
            for leg in f["legs"]
        )
        travel = parse_travel(f["travel"]) if "travel" in f else None  # a float bought across a border names its parties
        txs.append(Tx(ledger=ledger_id, id=f["id"], kind=f["kind"], memo=f.get("memo", ""), legs=legs, travel=travel))
    return txs
