"""`verify` replays the journal through the rulebook: every table the rules read is derived, and an edit to any is caught.

Someone with database access edits one thing (plain SQL, their own
connection); `verify`, in-process and as a separate `wonledger verify`
process (exit 3), names it. Then the harder forgeries: entries appended
with every hash recomputed and a party's real key, which no table
comparison would notice but the rulebook refuses.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.storage.test_tamper import ALICE, assert_caught, cli_verify
from wonledger import Ledger
from wonledger.domain.signing import canonical_bytes

BOB = "seoul-exports:dKRW.hanriver"


@pytest.fixture
def busy(ledger: Ledger) -> Ledger:
    """The default world plus a transfer t-1, a hold h-1 and a partly posted hold h-2 (post p-2), all by alice."""
    ledger.registry.open_account("seoul-exports", "dKRW.hanriver")
    ledger.payments.transfer(ALICE, BOB, 100_000, tx_id="t-1")
    ledger.payments.transfer(ALICE, BOB, 50_000, tx_id="h-1", hold_timeout_s=3600)
    ledger.payments.transfer(ALICE, BOB, 70_000, tx_id="h-2", hold_timeout_s=3600)
    ledger.holds.post("h-2", 20_000, tx_id="p-2")
    assert ledger.verify().ok
    return ledger


EDITS: dict[str, tuple[str, str]] = {
    # what is edited: (SQL, what verify must name)
    "a participant's jurisdiction": ("UPDATE participants SET jurisdiction = 'HK' WHERE id = 'alice'", "alice"),
    "a participant's kind": ("UPDATE participants SET kind = 'bank' WHERE id = 'kpay'", "kpay"),
    "a participant's residency": ("UPDATE participants SET resident = false WHERE id = 'alice'", "alice"),
    "a participant's registrar": ("UPDATE participants SET registrar = 'namsan' WHERE id = 'alice'", "alice"),
    "a participant added by hand": (
        "INSERT INTO participants (id, kind, jurisdiction, resident, public_key, registrar) "
        "SELECT 'fakebank', 'bank', 'KR', true, public_key, 'fsc' FROM participants WHERE id = 'alice'", "fakebank",
    ),
    "a registered key": ("UPDATE participants SET public_key = (SELECT public_key FROM participants WHERE id = 'bok') WHERE id = 'alice'", "alice"),
    "a key's validity span": ("UPDATE participant_keys SET valid_from = '2020-01-01T00:00:00.000000Z' WHERE participant = 'alice'", "alice"),
    "an account's overdraft flag": (f"UPDATE accounts SET flags = '' WHERE id = '{ALICE}'", ALICE),
    "an account's reserve flag": (f"UPDATE accounts SET flags = 'no_overdraft,reserve' WHERE id = '{BOB}'", BOB),
    "an account's owner": (f"UPDATE accounts SET owner = 'kpay' WHERE id = '{BOB}'", BOB),
    "an account opened by hand": (
        "INSERT INTO accounts (id, owner, asset, flags, label, debits_posted, credits_posted, debits_pending, credits_pending) "
        "VALUES ('kowloon-supply:dKRW.hanriver', 'kowloon-supply', 'dKRW.hanriver', 'no_overdraft', '', 0, 0, 0, 0)",
        "kowloon-supply:dKRW.hanriver",
    ),
    "an asset's issuer": ("UPDATE assets SET issuer = 'namsan' WHERE code = 'dKRW.hanriver'", "dKRW.hanriver"),
    "an issuer registration": ("DELETE FROM issuers WHERE asset = 'USDS'", "USDS"),
    "a hold's expiry": ("UPDATE holds SET expires_at = '2099-01-01T00:00:00.000000Z' WHERE id = 'h-1'", "h-1"),
    "a hold's status": ("UPDATE holds SET status = 'posted' WHERE id = 'h-1'", "h-1"),
    "who finished a hold": ("UPDATE holds SET finished_by = 't-1' WHERE id = 'h-2'", "h-2"),
    "a pending counter": (f"UPDATE accounts SET debits_pending = 0 WHERE id = '{ALICE}'", ALICE),
}


@pytest.mark.slow
@pytest.mark.parametrize("what", sorted(EDITS))
def test_an_edit_to_a_derived_table_is_caught_and_named(busy: Ledger, raw, wonledger, what: str) -> None:
    sql, named = EDITS[what]
    raw(busy).execute(sql)
    assert_caught(busy, wonledger)
    problems = busy.verify().problems
    assert any(named in p.detail or p.tx == named for p in problems), problems


def test_an_overdraft_made_through_an_edited_flag_is_refused_by_the_replay_and_named(busy: Ledger, raw, wonledger) -> None:
    """The tables are the book's working copy: whoever edits one can mislead the book, but not verify.

    With no_overdraft cleared by hand, the book lets alice overdraw; verify
    replays the journal under the flags the journal set and refuses that
    transfer (INSUFFICIENT_FUNDS), besides naming the edited flag.
    """
    raw(busy).execute(f"UPDATE accounts SET flags = '' WHERE id = '{ALICE}'")
    busy.payments.transfer(ALICE, BOB, 10**12, tx_id="overdraft")
    assert_caught(busy, wonledger, tx="overdraft")
    problems = busy.verify().problems
    assert any(p.tx == "overdraft" and "INSUFFICIENT_FUNDS" in p.detail for p in problems), problems
    assert any(p.kind == "account" and ALICE in p.detail for p in problems), problems


def _append(busy: Ledger, raw, tx: dict, signers: list[str], at: str | None = None, legs: list | None = None) -> None:
    """Append an entry by hand, chained correctly and signed with the parties' real keys (an insider with the key files)."""
    r = raw(busy)
    seq, prev = r.rows("SELECT seq, hash FROM head")[0]
    last_at = r.scalar("SELECT at FROM journal ORDER BY seq DESC LIMIT 1")
    at = at or last_at
    body = canonical_bytes(tx)
    signatures = [busy._keys.sign(s, body).to_wire() for s in signers]
    envelope = canonical_bytes({"seq": seq + 1, "at": at, "tx": tx, "signatures": signatures})
    digest = hashlib.sha256(bytes.fromhex(prev) + envelope).hexdigest()
    r.execute(
        "INSERT INTO journal (seq, id, kind, ref, at, body, signatures, digest, hash) VALUES (:s, :i, :k, :r, :a, :b, :g, :d, :h)",
        s=seq + 1, i=tx["id"], k=tx["kind"], r=tx.get("ref"), a=at, b=body.decode(), g=json.dumps(signatures, separators=(",", ":")),
        d=hashlib.sha256(body).hexdigest(), h=digest,
    )
    for n, leg in enumerate(legs if legs is not None else tx["legs"]):
        r.execute(
            "INSERT INTO legs (seq, idx, debit, credit, asset, amount, pending) VALUES (:s, :n, :d, :c, :a, :m, false)",
            s=seq + 1, n=n, d=leg["debit"], c=leg["credit"], a=leg["asset"], m=leg["amount"],
        )
    r.execute("UPDATE head SET seq = :s, hash = :h", s=seq + 1, h=digest)


def test_a_forged_post_larger_than_its_hold_is_refused_by_the_replay(busy: Ledger, raw, wonledger) -> None:
    """With database access and the creditor's key, a post of 500,000 against a 50,000 hold: every hash is right, the rulebook says no."""
    leg = {"debit": ALICE, "credit": BOB, "asset": "dKRW.hanriver", "amount": 500_000}
    tx = {"ledger": busy.id, "id": "forged-post", "kind": "post", "memo": "", "ref": "h-1", "legs": [leg]}
    _append(busy, raw, tx, ["seoul-exports"])
    raw(busy).execute("UPDATE holds SET status = 'posted', finished_by = 'forged-post' WHERE id = 'h-1'")
    raw(busy).execute(f"UPDATE accounts SET debits_posted = debits_posted + 500000, debits_pending = debits_pending - 50000 WHERE id = '{ALICE}'")
    raw(busy).execute(f"UPDATE accounts SET credits_posted = credits_posted + 500000, credits_pending = credits_pending - 50000 WHERE id = '{BOB}'")
    assert_caught(busy, wonledger, tx="forged-post")
    refused = [p for p in busy.verify().problems if p.tx == "forged-post"]
    assert refused and "BAD_AMOUNT" in refused[0].detail


def test_a_forged_post_of_other_legs_than_its_holds_is_refused_by_the_replay(busy: Ledger, raw, wonledger) -> None:
    leg = {"debit": ALICE, "credit": "kstable:dKRW.hanriver:reserve", "asset": "dKRW.hanriver", "amount": 50_000}
    tx = {"ledger": busy.id, "id": "forged-post", "kind": "post", "memo": "", "ref": "h-1", "legs": [leg]}
    _append(busy, raw, tx, ["alice"])
    assert_caught(busy, wonledger, tx="forged-post")
    assert any("does not match" in p.detail for p in busy.verify().problems if p.tx == "forged-post")


def test_an_entry_backdated_before_the_one_ahead_of_it_is_caught(busy: Ledger, raw, wonledger) -> None:
    leg = {"debit": ALICE, "credit": BOB, "asset": "dKRW.hanriver", "amount": 1}
    tx = {"ledger": busy.id, "id": "backdated", "kind": "transfer", "memo": "", "legs": [leg]}
    _append(busy, raw, tx, ["alice"], at="2020-01-01T00:00:00.000000Z")
    raw(busy).execute(f"UPDATE accounts SET debits_posted = debits_posted + 1 WHERE id = '{ALICE}'")
    raw(busy).execute(f"UPDATE accounts SET credits_posted = credits_posted + 1 WHERE id = '{BOB}'")
    assert_caught(busy, wonledger, tx="backdated")
    # (in 2020 alice had no key yet, so its signature is reported too)
    assert "time" in [p.kind for p in busy.verify().problems if p.tx == "backdated"]


def test_a_registration_appended_by_hand_without_the_regulator_is_refused_by_the_replay(busy: Ledger, raw, wonledger) -> None:
    """An insider with hanriver's key registers a bank: hanriver may not vouch for banks, so the replay refuses it."""
    from wonledger.flows.registry import registration_tx
    from wonledger.flows.world import participant_key

    tx = registration_tx(busy.id, "fakebank", "bank", "KR", True, participant_key(busy._keys, "fakebank"), "hanriver").to_wire()
    _append(busy, raw, tx, ["fakebank", "hanriver"])
    raw(busy).execute(
        "INSERT INTO participants (id, kind, jurisdiction, resident, public_key, registrar) "
        "SELECT 'fakebank', 'bank', 'KR', true, public_key, 'hanriver' FROM participants WHERE id = 'alice'"
    )
    assert_caught(busy, wonledger, tx="register:fakebank")
    assert any("NOT_AUTHORIZED" in p.detail for p in busy.verify().problems if p.tx == "register:fakebank")


def test_the_book_and_verify_agree_on_every_table_after_a_mixed_history(busy: Ledger, wonledger) -> None:
    """Same journal, same rulebook: after registrations, rotations, holds, posts, voids, reversals and mints, verify rebuilds the tables the book wrote."""
    busy.registry.add_participant("carol", "individual", "KR", by="hanriver")
    busy.payments.deposit("carol", 30_000, "hanriver", tx_id="dep-carol")
    busy.registry.rotate_key("carol")
    busy.payments.transfer("carol:dKRW.hanriver", ALICE, 1_000, tx_id="carol-pays")
    busy.holds.void("h-1")
    busy.payments.reverse("t-1")
    busy.stablecoins.mint("KRWS", 5_000, "alice", "dKRW.hanriver", tx_id="mint-1")
    busy.registry.register_issuer("namsan", "NAMS", "KRW")
    busy.stablecoins.mint("NAMS", 2_000, "alice", "dKRW.hanriver", tx_id="mint-2")
    assert busy.verify().ok
    assert cli_verify(busy, wonledger)["ok"] is True
