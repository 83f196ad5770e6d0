"""Identity and the registry: every registration is a signed entry of whoever vouches for it.

The attacks of issue 12, through the CLI and through hand-signed lines fed
to `submit` (signed with `cryptography` and `rfc8785` only): each is refused
with its code, and a refused entry changes nothing but the record of refusals.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.cli.conftest import Ledger, sign_with_pem


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def new_key(path: Path) -> str:
    """A key pair made by its owner: the private half in ``path`` (0600), the public half returned."""
    key = Ed25519PrivateKey.generate()
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    path.chmod(0o600)
    return b64(key.public_key().public_bytes_raw())


def registration(wl: Ledger, pid: str, kind: str, jurisdiction: str, public_key: str, registrar: str) -> dict[str, Any]:
    return {
        "ledger": wl.id(), "id": f"register:{pid}", "kind": "register", "memo": "", "legs": [],
        "participant": {"id": pid, "kind": kind, "jurisdiction": jurisdiction, "resident": True, "public_key": public_key, "registrar": registrar},
    }


def submit_line(wl: Ledger, tmp_path: Path, line: str) -> Any:
    (tmp_path / "line.jsonl").write_text(line + "\n", encoding="utf-8")
    return wl("--json", "submit", str(tmp_path / "line.jsonl"))


def signed_line(wl: Ledger, tx: dict[str, Any], pems: list[tuple[str, Path]]) -> str:
    import json

    import rfc8785

    payload = rfc8785.dumps(tx)
    return json.dumps({"tx": tx, "signatures": [{"signer": s, "sig": sign_with_pem(p, payload)} for s, p in pems]})


def test_a_bank_registered_by_anyone_but_its_regulator_is_refused(wl: Ledger) -> None:
    state = wl.state()
    message = wl("participant", "add", "fakebank", "--kind", "bank", "--jurisdiction", "KR", "--by", "hanriver").error("NOT_AUTHORIZED", exit_code=1)
    assert "fsc" in message and "hanriver" in message
    wl("participant", "add", "fakebank", "--kind", "bank", "--jurisdiction", "KR", "--by", "hkma").error("NOT_AUTHORIZED", exit_code=1)
    assert wl.state() == state
    assert not wl.key("fakebank").exists()  # the key made for the refused registration is gone with it
    assert "fakebank" not in {p["id"] for p in wl.read("--json", "participant", "list").json()["participants"]}


def test_a_customer_is_registered_by_a_bank_of_its_own_jurisdiction_only(wl: Ledger) -> None:
    wl("participant", "add", "dave", "--kind", "individual", "--jurisdiction", "KR", "--by", "kpay").error("NOT_AUTHORIZED", exit_code=1)
    wl("participant", "add", "dave", "--kind", "individual", "--jurisdiction", "KR", "--by", "harbour").error("NOT_AUTHORIZED", exit_code=1)
    shown = wl("--json", "participant", "add", "dave", "--kind", "individual", "--jurisdiction", "KR", "--by", "namsan").ok().json()
    assert (shown["id"], shown["registrar"]) == ("dave", "namsan")
    assert wl("verify").exit_code == 0


def test_a_hand_signed_registration_by_the_wrong_party_is_refused_in_submit(wl: Ledger, tmp_path: Path) -> None:
    state = wl.state()
    fake = tmp_path / "fakebank.pem"
    tx = registration(wl, "fakebank", "bank", "KR", new_key(fake), "hanriver")
    run = submit_line(wl, tmp_path, signed_line(wl, tx, [("fakebank", fake), ("hanriver", wl.key("hanriver"))]))
    assert run.exit_code == 1 and run.json()["rejected"][0]["code"] == "NOT_AUTHORIZED"
    # Signed by the right regulator but without the new participant's own key (no proof it holds its key):
    tx = registration(wl, "fakebank", "bank", "KR", new_key(fake), "fsc")
    run = submit_line(wl, tmp_path, signed_line(wl, tx, [("fsc", wl.key("fsc"))]))
    assert run.exit_code == 1 and run.json()["rejected"][0]["code"] == "NOT_AUTHORIZED"
    assert wl.state() == state
    # Both refusals are on record, naming who was registered.
    recorded = wl.read("--json", "report", "rejections").json()
    rows = recorded.get("rejections", recorded) if isinstance(recorded, dict) else recorded
    assert sum(1 for r in rows if r["code"] == "NOT_AUTHORIZED" and "fakebank" in r["who"]) == 2


def test_the_regulators_registration_with_the_participants_own_key_posts(wl: Ledger, tmp_path: Path) -> None:
    fake = tmp_path / "newbank.pem"
    tx = registration(wl, "newbank", "bank", "KR", new_key(fake), "fsc")
    run = submit_line(wl, tmp_path, signed_line(wl, tx, [("fsc", wl.key("fsc")), ("newbank", fake)]))
    assert run.ok().json()["posted"] == 1
    assert wl("verify").exit_code == 0


def test_a_registration_signed_with_a_revoked_key_is_refused(wl: Ledger, tmp_path: Path) -> None:
    old = tmp_path / "hanriver-old.pem"
    old.write_bytes(wl.key("hanriver").read_bytes())
    fresh = tmp_path / "hanriver-new.pem"
    wl("keys", "revoke", "hanriver", "--public-key", new_key(fresh)).ok()
    dave = tmp_path / "dave.pem"
    tx = registration(wl, "dave", "individual", "KR", new_key(dave), "hanriver")
    run = submit_line(wl, tmp_path, signed_line(wl, tx, [("dave", dave), ("hanriver", old)]))
    assert run.exit_code == 1 and run.json()["rejected"][0]["code"] == "BAD_SIGNATURE"
    assert "revoked" in run.json()["rejected"][0]["message"]
    run = submit_line(wl, tmp_path, signed_line(wl, tx, [("dave", dave), ("hanriver", fresh)]))
    assert run.ok().json()["posted"] == 1


def test_a_rotation_without_proof_of_the_new_key_is_refused(wl: Ledger, tmp_path: Path) -> None:
    new = tmp_path / "alice-new.pem"
    tx = {"ledger": wl.id(), "id": "key:alice:1", "kind": "key", "memo": "", "legs": [],
          "key": {"participant": "alice", "public_key": new_key(new), "reason": "rotated"}}
    run = submit_line(wl, tmp_path, signed_line(wl, tx, [("alice", wl.key("alice"))]))
    assert run.exit_code == 1 and run.json()["rejected"][0]["code"] == "NOT_AUTHORIZED"
    assert "new key" in run.json()["rejected"][0]["message"]
    run = submit_line(wl, tmp_path, signed_line(wl, tx, [("alice", wl.key("alice")), ("alice", new)]))
    assert run.ok().json()["posted"] == 1
    assert wl.read("--json", "keys", "list", "alice").json()["keys"][-1]["public_key"] == tx["key"]["public_key"]


def test_a_revocation_is_signed_by_the_registrar_and_names_a_new_key(wl: Ledger, tmp_path: Path) -> None:
    new = tmp_path / "alice-new.pem"
    tx = {"ledger": wl.id(), "id": "key:alice:2", "kind": "key", "memo": "", "legs": [],
          "key": {"participant": "alice", "public_key": new_key(new), "reason": "revoked"}}
    # alice cannot revoke her own key (a thief holding it could); her bank, who registered her, can.
    run = submit_line(wl, tmp_path, signed_line(wl, tx, [("alice", wl.key("alice"))]))
    assert run.exit_code == 1 and run.json()["rejected"][0]["code"] == "NOT_AUTHORIZED"
    no_key = dict(tx, key={"participant": "alice", "reason": "revoked"})
    run = submit_line(wl, tmp_path, signed_line(wl, no_key, [("hanriver", wl.key("hanriver"))]))
    assert run.exit_code == 1 and run.json()["rejected"][0]["code"] == "BAD_INPUT"
    wl("keys", "revoke", "alice").error("BAD_INPUT", exit_code=2)  # --public-key is required


def test_revoke_installs_the_participants_own_key_and_the_operator_gets_no_private_key(wl: Ledger, tmp_path: Path) -> None:
    """Moving dave.pem away and revoking does not let the operator sign as dave: the new key is dave's own."""
    wl("participant", "add", "dave", "--kind", "individual", "--jurisdiction", "KR").ok()
    (wl.keys / "dave.pem").rename(tmp_path / "dave-old.pem")
    mine = tmp_path / "dave-mine"
    mine.mkdir(mode=0o700)
    public = wl("--keys", str(mine), "--json", "keys", "new", "dave").ok().json()["public_key"]
    assert (mine / "dave.pem").stat().st_mode & 0o777 == 0o600
    revoked = wl("--json", "keys", "revoke", "dave", "--public-key", public).ok().json()
    assert revoked["current"]["public_key"] == public
    assert not (wl.keys / "dave.pem").exists()  # nothing was written to the operator's key directory
    wl("deposit", "dave", "100", "--bank", "hanriver").error("KEY_UNAVAILABLE")  # opening dave's account needs dave
    wl("--keys", str(mine), "keys", "list", "dave").ok()
    assert wl("verify").exit_code == 0


def test_a_bank_backing_its_stablecoin_with_its_own_deposit_token_is_refused(wl: Ledger, tmp_path: Path) -> None:
    wl("issuer", "register", "hanriver", "--asset", "HANS", "--currency", "KRW").ok()
    state = wl.state()
    wl("mint", "HANS", "1000", "--to", "alice", "--pay-with", "dKRW.hanriver").error("RESERVE_NOT_ELIGIBLE", exit_code=1)
    # By hand: open the reserve in its own token, then move tokens from its issuance account into it.
    tx = {"ledger": wl.id(), "id": "open-own-reserve", "kind": "open", "memo": "", "legs": [],
          "opens": [{"owner": "hanriver", "asset": "dKRW.hanriver", "label": "reserve", "reserve": True}]}
    run = submit_line(wl, tmp_path, wl.sign(tx, ["hanriver"]))
    assert run.exit_code == 1 and run.json()["rejected"][0]["code"] == "RESERVE_NOT_ELIGIBLE"
    assert wl.state() == state
    supply = {r["asset"]: r for r in wl.read("--json", "report", "supply").json()["assets"]}
    assert supply["HANS"]["supply"] == 0 and supply["HANS"]["reserve_assets"] == []


def test_an_institution_registered_by_a_regulator_of_another_jurisdiction_is_refused(wl: Ledger) -> None:
    wl("participant", "add", "hkbank", "--kind", "bank", "--jurisdiction", "HK", "--by", "fsc").error("NOT_AUTHORIZED", exit_code=1)
    wl("issuer", "register", "harbour", "--asset", "HARS", "--currency", "HKD", "--by", "fsc").error("NOT_AUTHORIZED", exit_code=1)
    wl("participant", "add", "hkbank", "--kind", "bank", "--jurisdiction", "HK").ok()
    assert wl.read("--json", "participant", "show", "hkbank").json()["registrar"] == "hkma"
