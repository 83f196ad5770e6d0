"""Canonical bytes, Ed25519 signatures and the key store on disk."""

import os
import stat

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from wonledger import KeyUnavailable, LedgerError
from wonledger.domain.chain import envelope_bytes
from wonledger.domain.signing import KeyStore, canonical_bytes, public_bytes, public_key_from_bytes, signature_holds


def test_the_chain_envelope_is_exactly_rfc8785_of_the_whole_object() -> None:
    tx = {"ledger": "wl-x", "id": "p-1", "kind": "transfer", "memo": "é 😀 \"q\"", "legs": [{"debit": "a:K", "credit": "b:K", "asset": "K", "amount": 9}]}
    signatures = [{"signer": "alice", "sig": "abc_-"}]
    at = "2026-11-22T03:50:00.123456Z"
    whole = rfc8785.dumps({"seq": 12, "at": at, "tx": tx, "signatures": signatures})
    assert envelope_bytes(12, at, canonical_bytes(tx), signatures) == whole


def test_keys_are_made_private_in_a_private_directory(tmp_path) -> None:
    store = KeyStore(tmp_path / "keys", passphrase=None)
    store.create("alice")
    assert stat.S_IMODE(os.stat(tmp_path / "keys").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(tmp_path / "keys" / "alice.pem").st_mode) == 0o600
    assert b"PRIVATE KEY" in (tmp_path / "keys" / "alice.pem").read_bytes()


def test_a_signature_verifies_only_for_its_bytes_and_its_key(tmp_path) -> None:
    store = KeyStore(tmp_path, passphrase=None)
    alice = public_key_from_bytes(public_bytes(store.create("alice")))
    bob = public_key_from_bytes(public_bytes(store.create("bob")))
    sig = store.sign("alice", b"payload").sig
    assert signature_holds(alice, b"payload", sig)
    assert not signature_holds(alice, b"payload!", sig)
    assert not signature_holds(bob, b"payload", sig)


def test_a_passphrase_encrypts_keys_and_is_needed_to_read_them(tmp_path) -> None:
    KeyStore(tmp_path, passphrase="s3cret").create("alice")
    assert b"ENCRYPTED" in (tmp_path / "alice.pem").read_bytes()
    with pytest.raises(KeyUnavailable, match="encrypted"):
        KeyStore(tmp_path, passphrase=None).load("alice")
    with pytest.raises(KeyUnavailable, match="passphrase"):
        KeyStore(tmp_path, passphrase="wrong").load("alice")
    assert KeyStore(tmp_path, passphrase="s3cret").load("alice")


def test_a_key_readable_by_others_is_refused(tmp_path) -> None:
    KeyStore(tmp_path, passphrase=None).create("alice")
    os.chmod(tmp_path / "alice.pem", 0o644)
    with pytest.raises(KeyUnavailable, match="chmod 600"):
        KeyStore(tmp_path, passphrase=None).load("alice")


def test_an_existing_key_is_never_overwritten(tmp_path) -> None:
    store = KeyStore(tmp_path, passphrase=None)
    store.create("alice")
    before = (tmp_path / "alice.pem").read_bytes()
    with pytest.raises(KeyUnavailable, match="already exists"):
        KeyStore(tmp_path, passphrase=None).create("alice")
    assert (tmp_path / "alice.pem").read_bytes() == before


def test_a_missing_key_says_where_it_looked(tmp_path) -> None:
    with pytest.raises(KeyUnavailable, match="no key for carol"):
        KeyStore(tmp_path, passphrase=None).load("carol")


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**60), max_value=2**60) | st.text() | st.floats(allow_nan=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(_json_values)
def test_the_fast_canonical_form_is_byte_for_byte_rfc8785_or_refused_alike(value) -> None:
    try:
        expected: bytes | None = rfc8785.dumps(value)
    except Exception:
        expected = None
    try:
        got: bytes | None = canonical_bytes(value)
    except LedgerError:
        got = None
    assert got == expected
