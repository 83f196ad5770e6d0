"""What the worker processes hand back is what the one-process path would have made.

Batch ingest parses lines, and verify decodes journal rows, in worker
processes that return plain tuples (wonledger.domain.packed) and some bytes
they computed on the way. These tests hold each shortcut to the slow, plain
way it replaces: the packed form comes back equal after pickling, a parsed
signature list written out directly is RFC 8785's own bytes, base64url
canonicity read from the last character is what re-encoding says, and a
checked line says exactly what the book would refuse and which signatures
hold under which key.
"""

from __future__ import annotations

import base64
import json
import pickle

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wonledger.book.lines import KEYS, LEDGER, check_lines
from wonledger.domain.errors import BadInput, BadSignature, LedgerError
from wonledger.domain.model import Tx
from wonledger.domain.packed import pack, unpack
from wonledger.domain.signing import b64url, canonical_bytes
from wonledger.domain.strict import unb64url
from wonledger.domain.wire import parse_line, signature_list_bytes
from wonledger.testing.strategies import wire_envelopes

LEDGER_ID = "wl-test"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(wire_envelopes())
def test_a_parsed_signature_list_written_out_directly_is_rfc8785s_own_bytes(envelope: dict) -> None:
    signed = parse_line(json.dumps(envelope))
    assert signature_list_bytes(signed.signatures) == rfc8785.dumps(envelope["signatures"])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(wire_envelopes())
def test_a_parsed_transaction_packed_for_another_process_comes_back_equal(envelope: dict) -> None:
    signed = parse_line(json.dumps(envelope))
    back = unpack(pickle.loads(pickle.dumps(pack(signed))))
    assert back == signed and back.canonical == signed.canonical


def test_a_registry_entry_travels_as_itself_and_comes_back_equal() -> None:
    tx = Tx(LEDGER_ID, "reg-1", "register", (), subject=None)
    line = {"tx": tx.to_wire() | {"participant": {"id": "bob", "kind": "individual", "jurisdiction": "KR", "resident": True,
                                                  "public_key": b64url(bytes(32)), "registrar": "hanriver"}},
            "signatures": []}
    signed = parse_line(json.dumps(line))
    packed = pack(signed)
    assert isinstance(packed[0], Tx)
    assert unpack(pickle.loads(pickle.dumps(packed))) == signed


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=70), st.integers(0, 63))
def test_base64url_is_canonical_exactly_when_reencoding_gives_the_same_text(raw: bytes, index: int) -> None:
    text = b64url(raw)
    assert unb64url(text) == raw
    if text:
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        variant = text[:-1] + alphabet[index]
        decoded = base64.urlsafe_b64decode(variant + "=" * (-len(variant) % 4))
        try:
            got = unb64url(variant)
        except ValueError:
            assert b64url(decoded) != variant
        else:
            assert got == decoded and b64url(got) == variant


def _line(key: Ed25519PrivateKey, signer: str = "alice", ledger: str = LEDGER_ID, kind: str = "transfer") -> bytes:
    tx: dict[str, object] = {"ledger": ledger, "id": "t-1", "kind": kind, "legs": [{"debit": "alice:dKRW", "credit": "bob:dKRW", "asset": "dKRW", "amount": 5}]}
    if kind == "expire":
        tx.update(legs=[], ref="h-1")
    sig = b64url(key.sign(canonical_bytes(tx)))
    return json.dumps({"tx": tx, "signatures": [{"signer": signer, "sig": sig}]}).encode()


def test_a_checked_line_says_which_signatures_hold_under_which_key_and_what_the_book_must_refuse() -> None:
    alice, mallory = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    alice_key = alice.public_key().public_bytes_raw()
    shared = {LEDGER: {"id": LEDGER_ID}, KEYS: {"alice": alice_key}}
    good, forged, unknown, foreign, broken, own_kind = check_lines(shared, [
        _line(alice),
        _line(mallory),  # mallory's signature presented as alice's
        _line(mallory, signer="mallory"),  # a signer the workers have no key for
        _line(alice, ledger="wl-other"),
        b'{"tx": 1.5}',
        _line(alice, kind="expire"),  # only the ledger writes expiries
    ])
    assert good[3] == (("alice", alice_key, True),)
    assert forged[3] == (("alice", alice_key, False),)
    assert unknown[3] == (("mallory", None, False),)
    assert isinstance(foreign[3], BadSignature) and "wl-other" in foreign[3].message  # the book records it as a refusal
    assert isinstance(broken, LedgerError) and not isinstance(broken, tuple)
    assert isinstance(own_kind, tuple) and isinstance(own_kind[3], BadInput) and "written by the ledger" in own_kind[3].message
    signed = unpack(good[0])
    assert good[1] == canonical_digest(signed.canonical) and good[2] == rfc8785.dumps([s.to_wire() for s in signed.signatures])


def canonical_digest(payload: bytes) -> str:
    import hashlib

    return hashlib.sha256(payload).hexdigest()
