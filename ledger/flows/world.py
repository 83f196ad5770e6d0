"""Loading a world from fixtures: every participant, asset, issuer and account by a signed registry entry, then signed funding.

The default world is ``world.toml`` in the fixtures (docs/policy.md, the default world); ``kr`` and
``hk`` are the two operators' worlds of a payment across two ledgers (``world_kr.toml``,
``world_hk.toml``: docs/crossledger.md). Keys
for its participants are made in the key store (an existing key is reused,
since a key belongs to its participant, not to one ledger): the operator of a
demo world holds them all, so that every registry entry can be signed by the
party the rules name. ``verify`` then checks the world's origin like any
other entry.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from typing import Any

from wonledger.domain.errors import BadInput
from wonledger.domain.model import AccountSpec, Leg, SignedTx, Tx
from wonledger.domain.money import Asset, parse_amount
from wonledger.domain.signing import KeyStore, public_bytes, tx_bytes
from wonledger.domain.wire import parse_travel
from wonledger.flows.registry import asset_tx, issuer_tx, open_tx, registration_tx
from wonledger.rulebook.policy import CUSTOMER_KINDS, DEPOSIT_TOKEN, WHOLESALE_CBDC, RegistryPolicy, load_issuer_policy

WORLDS = ("default", "empty", "kr", "hk")
#: The fixture file of each world that has one.
_WORLD_FILES = {"default": "world.toml", "kr": "world_kr.toml", "hk": "world_hk.toml"}


def world_data(name: str) -> dict[str, Any]:
    if name == "empty":
        return {}
    if name not in _WORLD_FILES:
        raise BadInput(f"no world {name!r}: choose one of {', '.join(WORLDS)}")
    text = resources.files("wonledger_fixtures").joinpath(_WORLD_FILES[name]).read_text(encoding="utf-8")
    return tomllib.loads(text)


def participant_key(keys: KeyStore, participant: str) -> bytes:
    """The public key of ``participant``, making its private key if it has none."""
    key = keys.load(participant) if keys.has(participant) else keys.create(participant)
    return public_bytes(key)


def default_registrar(kind: str, jurisdiction: str, pid: str, policy: RegistryPolicy, banks: list[str]) -> str:
    """Who registers a participant when nobody is named: itself for a regulator, its regulator, or a bank of its jurisdiction."""
    if kind == "regulator":
        return pid
    if kind in CUSTOMER_KINDS:
        if not banks:
            raise BadInput(f"no bank in {jurisdiction} to register {pid}", hint="registrar")
        return banks[0]
    return policy.authority_of(jurisdiction)


def world_entries(ledger_id: str, keys: KeyStore, data: dict[str, Any], policy: RegistryPolicy) -> list[SignedTx]:
    """The world's registry entries and funding, each signed by the parties the rules name, in order."""
    signed: list[SignedTx] = []

    def sign(tx: Tx, signers: list[str]) -> None:
        payload = tx_bytes(tx)
        signed.append(SignedTx(tx=tx, signatures=tuple(keys.sign(s, payload) for s in dict.fromkeys(signers)), canonical=payload))

    people = data.get("participants", [])
    kinds = {p["id"]: p for p in people}
    # Authorities first, then institutions, then customers: a registrar is registered before those it vouches for.
    order = sorted(people, key=lambda p: (p["kind"] != "regulator", p["kind"] in CUSTOMER_KINDS))
    for p in order:
        banks = sorted(q["id"] for q in people if q["kind"] == "bank" and q["jurisdiction"] == p["jurisdiction"])
        registrar = p.get("registrar") or default_registrar(p["kind"], p["jurisdiction"], p["id"], policy, banks)
        tx = registration_tx(ledger_id, p["id"], p["kind"], p["jurisdiction"], p.get("resident", True), participant_key(keys, p["id"]), registrar)
        sign(tx, [p["id"], registrar])
    assets: dict[str, Asset] = {}
    for a in data.get("assets", []):
        asset = Asset(a["code"], a["currency"], a["kind"], a["exponent"], a["issuer"])
        assets[asset.code] = asset
        sign(asset_tx(ledger_id, asset), [asset.issuer, policy.authority_of(kinds[asset.issuer]["jurisdiction"])])
    exponents = load_issuer_policy().exponents
    for reg in data.get("issuers", []):
        assets[reg["asset"]] = Asset(reg["asset"], reg["currency"], "stablecoin", exponents[reg["currency"]], reg["issuer"])
        authority = policy.authority_of(kinds[reg["issuer"]]["jurisdiction"])
        sign(issuer_tx(ledger_id, reg["issuer"], reg["asset"], reg["currency"]), [reg["issuer"], authority])
    for acc in data.get("accounts", []):
        spec = AccountSpec(acc["owner"], acc["asset"], acc.get("label", ""), acc.get("reserve", False))
        asset = assets[spec.asset]
        extra = [asset.issuer] if asset.kind in (DEPOSIT_TOKEN, WHOLESALE_CBDC) else []
        sign(open_tx(ledger_id, (spec,)), [spec.owner, *extra])
    for tx in funding_txs(ledger_id, data, {code: a.exponent for code, a in assets.items()}):
        sign(tx, sorted({leg.debit.partition(":")[0] for leg in tx.legs}))
    return signed


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
