"""The lines of a batch, checked on every core before the book decides on them.

Everything about a line that needs no ledger state is done by
:func:`check_lines`, which the book's worker processes run over each chunk
of raw lines (or the book itself, for a small batch): the strict parse
(I-JSON, every field, canonical base64url), admission (signed for this
ledger; no id or kind the ledger writes itself), the canonical bytes and
their digest, the signatures' canonical bytes (what the hash chain covers),
and each signature's Ed25519 check under the key the book last shared for
its signer. What comes back is a plain tuple per line (see
:mod:`wonledger.domain.packed`), so the process that decides and writes
spends nothing on parsing.

The book still decides who signed: a worker's "yes" counts only for the
key the rules expect at commit time, which the book compares under its
lock; a signer the worker had no key for, or whose key changed since, is
checked again by the book against the key it looked up itself.
"""

from __future__ import annotations

from base64 import urlsafe_b64decode
from collections.abc import Sequence

from wonledger.book.signature_pool import Shared, verifies
from wonledger.domain import chain
from wonledger.domain.errors import BadInput, BadSignature, LedgerError
from wonledger.domain.model import EXPIRE, GENESIS, SignedTx
from wonledger.domain.money import check_minor_units
from wonledger.domain.packed import PackedSigned, pack
from wonledger.domain.wire import parse_line, signature_list_bytes
from wonledger.rulebook.rules import signature_keys

#: Ids the ledger writes itself start with a character no client id may start with.
SYSTEM_PREFIX = "_"
#: The shared space of the signers' current keys (signer -> 32 raw bytes), as the book last read them.
KEYS = "keys"
#: The shared space naming the ledger the lines must be signed for (``{"id": ledger id}``).
LEDGER = "ledger"

#: Per signature: the name it counts under, the key it was checked with (None: none known) and whether it held.
Checked = tuple[tuple[str, bytes | None, bool], ...]
#: A line that parsed: the transaction packed, its digest, its signatures' canonical bytes, and the
#: signature checks (or why the book must refuse it: the error is recorded as a refusal by the book).
ParsedLine = tuple[PackedSigned, str, bytes, "Checked | LedgerError"]


def admit(signed: SignedTx, ledger_id: str) -> None:
    """Refuse what no ledger state can make acceptable: another ledger's entry, the ledger's own ids and kinds."""
    if signed.tx.ledger != ledger_id:
        raise BadSignature(f"{signed.tx.id} is signed for ledger {signed.tx.ledger}, not this ledger {ledger_id}")
    if signed.tx.id.startswith(SYSTEM_PREFIX):
        raise BadInput(f"ids starting with {SYSTEM_PREFIX!r} are written by the ledger itself")
    if signed.tx.kind in (EXPIRE, GENESIS):
        raise BadInput(f"a {signed.tx.kind} entry is written by the ledger itself")
    # The values must pass the wire format too: 1.0 == 1 and True == 1 in Python.
    for n, leg in enumerate(signed.tx.legs, 1):
        check_minor_units(leg.amount, f"leg {n} amount")


def check_lines(shared: Shared, lines: Sequence[bytes | str]) -> list[ParsedLine | LedgerError]:
    """Each line parsed, admitted and its signatures checked; or the error that refuses it as input."""
    ledger_id = shared[LEDGER]["id"]
    keys = shared.get(KEYS, {})
    out: list[ParsedLine | LedgerError] = []
    for line in lines:
        try:
            signed = parse_line(line)
        except LedgerError as exc:
            out.append(exc)
            continue
        except RecursionError:
            out.append(BadInput("JSON nested too deeply"))
            continue
        signatures = signature_list_bytes(signed.signatures)
        checked: Checked | LedgerError
        try:
            admit(signed, ledger_id)
        except LedgerError as exc:
            checked = exc
        else:
            payload = signed.canonical
            # parse_line has checked each signature is canonical base64url of 64 bytes: it decodes as it is.
            checked = tuple(
                (name, key, key is not None and verifies(key, payload, urlsafe_b64decode(sig + "==")))
                for name, key, sig in signature_keys(signed, keys.get)
            )
        out.append((pack(signed), chain.digest(signed.canonical), signatures, checked))
    return out
