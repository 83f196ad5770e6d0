"""What a genesis entry may freeze: only a registry that signed entries under today's rules could have made.

A ledger made before schema 0004 kept its registry (participants, keys,
assets, issuers, accounts) in tables nobody signed. Its upgrade appends one
``genesis`` entry (id ``_genesis``) that freezes that registry, and replays
start from it. Nothing signs a genesis, so the rulebook holds it to what it
can check from the journal alone:

- **where it sits**: once, with id ``_genesis``, and before any signed
  registry entry (``register``, ``asset``, ``issuer``, ``open``, ``key``, or
  an entry that opens accounts): that is where an upgrade puts it, after
  the payments the old ledger had;
- **what it freezes** (:func:`unmakeable`): each participant, key history,
  asset, issuer and account is one that the signed registry entries of
  today's rules could have made: a customer's account never overdraws, an
  institution is vouched for by its regulator, a stablecoin's issuer is of
  a kind eligible in its jurisdiction, a reserve holds only eligible
  assets, a key history is one chain of rotations and revocations, and so
  on. Who registered a participant is the one thing an old registry may not
  know (``registrar`` empty): that, and the keys themselves, are what the
  genesis vouches for unsigned, and ``verify`` says so in a note.

A genesis that fails either is refused by the book (the upgrade stops,
naming what could not be made) and named by ``verify``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from wonledger.domain.errors import BadInput, IntegrityProblem, LedgerError
from wonledger.domain.model import (
    ACCOUNT_FLAGS,
    ISSUANCE,
    NO_OVERDRAFT,
    PARTICIPANT_KINDS,
    PARTICIPANT_PATTERN,
    RESERVE,
    REVOKED,
    ROTATED,
    Account,
    AssetSpec,
    KeyRecord,
    Participant,
    Registration,
    account_id,
)
from wonledger.domain.money import Asset
from wonledger.domain.signing import unb64url
from wonledger.rulebook.policy import (
    ASSET_ISSUERS,
    CUSTOMER_KINDS,
    REGULATOR,
    STABLECOIN,
    FlowPolicy,
    IssuerPolicy,
    RegistryPolicy,
    require_eligible,
    require_may_hold,
    require_reserve_eligible,
)

#: The id of the one entry that may freeze a registry kept outside the journal.
GENESIS_ID = "_genesis"
#: At most this many things a frozen registry could not have made are named (the rest are counted).
NAMED = 20


@dataclass(slots=True)
class FrozenRegistry:
    """A genesis entry's snapshot, read: what a replay starts from."""

    participants: dict[str, Participant] = field(default_factory=dict)
    keys: dict[str, list[KeyRecord]] = field(default_factory=dict)
    assets: dict[str, Asset] = field(default_factory=dict)
    issuers: dict[str, str] = field(default_factory=dict)
    accounts: dict[str, Account] = field(default_factory=dict)


def read_snapshot(text: str | None) -> FrozenRegistry:
    """The registry a genesis entry's snapshot (canonical JSON text) freezes; BAD_INPUT if it is not one."""
    try:
        snapshot = json.loads(text or "null")
        if not isinstance(snapshot, dict):
            raise BadInput("the snapshot is not an object")
        return _read(snapshot)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BadInput(f"the frozen registry is unreadable: {type(exc).__name__}: {exc}") from None
    except LedgerError as exc:
        raise BadInput(f"the frozen registry is unreadable: {exc.message}") from None


def _read(snapshot: dict[str, Any]) -> FrozenRegistry:
    frozen = FrozenRegistry()
    for k in snapshot["keys"]:
        frozen.keys.setdefault(str(k["participant"]), []).append(
            KeyRecord(str(k["participant"]), unb64url(k["public_key"]), str(k["valid_from"]), k.get("retired_at"), k.get("reason"))
        )
    for history in frozen.keys.values():
        history.sort(key=lambda r: r.valid_from)
    for p in snapshot["participants"]:
        current = frozen.keys.get(p["id"], [])
        key = current[-1].public_key if current else b""
        if p["id"] in frozen.participants:
            raise ValueError(f"participant {p['id']} is frozen twice")
        frozen.participants[p["id"]] = Participant(p["id"], p["kind"], p["jurisdiction"], p["resident"], key, p.get("registrar", ""))
    for a in snapshot["assets"]:
        frozen.assets[a["code"]] = Asset(a["code"], a["currency"], a["kind"], a["exponent"], a["issuer"])
    for i in snapshot["issuers"]:
        frozen.issuers[i["asset"]] = i["issuer"]
    for a in snapshot["accounts"]:
        frozen.accounts[a["id"]] = Account(a["id"], a["owner"], a["asset"], frozenset(a["flags"]), a["label"])
    return frozen


def unmakeable(frozen: FrozenRegistry, registry: RegistryPolicy, issuers: IssuerPolicy, flows: FlowPolicy) -> list[str]:
    """Everything in ``frozen`` that no signed registry entry under today's rules could have made (empty: all of it could)."""
    found: list[str] = []
    for p in sorted(frozen.participants.values(), key=lambda p: p.id):
        found.extend(f"participant {p.id}: {why}" for why in _participant(p, frozen, registry, flows))
    for pid in sorted(frozen.keys):
        found.extend(f"keys of {pid}: {why}" for why in _keys(pid, frozen))
    for asset in sorted(frozen.assets.values(), key=lambda a: a.code):
        found.extend(f"asset {asset.code}: {why}" for why in _asset(asset, frozen, registry, issuers))
    for code, who in sorted(frozen.issuers.items()):
        found.extend(f"issuer of {code}: {why}" for why in _issuer(code, who, frozen, issuers))
    for account in sorted(frozen.accounts.values(), key=lambda a: a.id):
        found.extend(f"account {account.id}: {why}" for why in _account(account, frozen, registry))
    return found


def require_makeable(frozen: FrozenRegistry, registry: RegistryPolicy, issuers: IssuerPolicy, flows: FlowPolicy) -> None:
    """Refuse (INTEGRITY) a frozen registry with anything signed entries could not have made, naming it."""
    found = unmakeable(frozen, registry, issuers, flows)
    if found:
        more = f"; and {len(found) - NAMED} more" if len(found) > NAMED else ""
        raise IntegrityProblem(
            f"the registry kept outside the journal holds what no signed registry entry could have made: "
            f"{'; '.join(found[:NAMED])}{more}"
        )


def _refusal(check) -> str | None:
    try:
        check()
    except LedgerError as exc:
        return exc.message
    return None


def _participant(p: Participant, frozen: FrozenRegistry, registry: RegistryPolicy, flows: FlowPolicy) -> list[str]:
    out = []
    if not isinstance(p.id, str) or not PARTICIPANT_PATTERN.match(p.id):
        out.append("not a participant id")
    if p.kind not in PARTICIPANT_KINDS:
        out.append(f"{p.kind!r} is no kind of participant")
    if p.jurisdiction not in flows.home_currency:
        out.append(f"{p.jurisdiction!r} is no jurisdiction of the policy")
    if not isinstance(p.resident, bool):
        out.append("residency is not true or false")
    if p.id not in frozen.keys:
        out.append("it has no key")
    if p.kind == REGULATOR:
        if registry.authorities.get(p.jurisdiction) != p.id:
            out.append(f"a regulator registers only as the authority policy.toml names for {p.jurisdiction}")
        elif p.registrar not in ("", p.id):
            out.append("an authority registers itself")
        return out
    if p.registrar:
        subject = Registration(p.id, p.kind, p.jurisdiction, p.resident, "", p.registrar)
        why = _refusal(lambda: registry.require_registrar(subject, frozen.participants.get(p.registrar)))
        if why:
            out.append(why)
    elif p.kind in CUSTOMER_KINDS and not any(
        q.kind in registry.customer_registrars and q.jurisdiction == p.jurisdiction for q in frozen.participants.values()
    ):
        out.append(f"no {' or '.join(registry.customer_registrars)} of {p.jurisdiction} could have registered it")
    return out


def _keys(pid: str, frozen: FrozenRegistry) -> list[str]:
    history = frozen.keys[pid]
    if pid not in frozen.participants:
        return ["no such participant"]
    out = []
    seen: set[bytes] = set()
    for n, k in enumerate(history):
        if len(k.public_key) != 32:
            out.append(f"key {n + 1} is not an Ed25519 public key")
        if k.public_key in seen:
            out.append(f"key {n + 1} was had already: a new key is new")
        seen.add(k.public_key)
        last = n == len(history) - 1
        if last and k.retired_at is not None:
            out.append("its last key is retired: a key is retired only by the key that replaces it")
        if not last:
            if k.retired_at != history[n + 1].valid_from:
                out.append(f"key {n + 1} is not retired when key {n + 2} starts to sign")
            if k.reason not in (ROTATED, REVOKED):
                out.append(f"key {n + 1} is retired for no reason a key entry gives ({ROTATED} or {REVOKED})")
    return out


def _asset(a: Asset, frozen: FrozenRegistry, registry: RegistryPolicy, issuers: IssuerPolicy) -> list[str]:
    out = []
    issuer = frozen.participants.get(a.issuer)
    if issuer is None:
        return [f"its issuer {a.issuer} is not a participant"]
    if isinstance(a.exponent, bool) or not isinstance(a.exponent, int) or not 0 <= a.exponent <= 18:
        out.append(f"exponent {a.exponent!r} is not one of 0 to 18")
    if a.kind == STABLECOIN:
        if frozen.issuers.get(a.code) != a.issuer:
            out.append(f"a stablecoin exists only by its issuer's registration, and {a.issuer} is not registered for it")
        if issuers.exponents.get(a.currency) != a.exponent:
            out.append(f"a {a.currency} stablecoin has exponent {issuers.exponents.get(a.currency)} (policy.toml), not {a.exponent}")
    elif a.kind in ASSET_ISSUERS:
        spec = AssetSpec(a.code, a.currency, a.kind, a.exponent, a.issuer)
        why = _refusal(lambda: registry.require_asset_issuer(spec, issuer))
        if why:
            out.append(why)
    else:
        out.append(f"{a.kind!r} is no kind of asset")
    issuance = frozen.accounts.get(account_id(a.issuer, a.code))
    if issuance is None or issuance.flags != frozenset({ISSUANCE}):
        out.append(f"its issuance account {account_id(a.issuer, a.code)} is missing or not an issuance account")
    return out


def _issuer(code: str, who: str, frozen: FrozenRegistry, issuers: IssuerPolicy) -> list[str]:
    asset = frozen.assets.get(code)
    candidate = frozen.participants.get(who)
    if asset is None or asset.kind != STABLECOIN or asset.issuer != who:
        return [f"{code} is not a stablecoin issued by {who}"]
    if candidate is None:
        return [f"{who} is not a participant"]
    why = _refusal(lambda: require_eligible(candidate, issuers))
    return [why] if why else []


def _account(a: Account, frozen: FrozenRegistry, registry: RegistryPolicy) -> list[str]:
    owner = frozen.participants.get(a.owner)
    asset = frozen.assets.get(a.asset)
    if owner is None or asset is None:
        return [f"its owner {a.owner} or asset {a.asset} does not exist"]
    out = []
    if a.id != account_id(a.owner, a.asset, a.label):
        out.append(f"its id is not {account_id(a.owner, a.asset, a.label)}")
    if not a.flags <= set(ACCOUNT_FLAGS):
        out.append(f"flags {', '.join(sorted(a.flags))} are not all account flags")
    if a.id == account_id(asset.issuer, asset.code):
        if a.flags != frozenset({ISSUANCE}):
            out.append("the issuer's issuance account has only the issuance flag")
        return out
    if ISSUANCE in a.flags:
        out.append(f"only {account_id(asset.issuer, asset.code)} issues {asset.code}")
    if NO_OVERDRAFT not in a.flags:
        out.append("it may overdraw, and every account an entry opens may not")
    issuer = frozen.participants.get(asset.issuer)
    if issuer is not None:
        why = _refusal(lambda: require_may_hold(owner, asset, issuer))
        if why:
            out.append(why)
    if RESERVE in a.flags:
        mine = {code for code, who in frozen.issuers.items() if who == a.owner}
        if not a.label:
            out.append("a reserve account needs a label")
        why = _refusal(lambda: require_reserve_eligible(a.owner, asset, mine, registry))
        if why:
            out.append(why)
    return out
