"""Strict reading of untrusted text: I-JSON objects and canonical base64url, each checked in one place.

RFC 8785 (the canonical JSON every signature and hash of wonledger covers)
requires I-JSON (RFC 7493): an object whose member names repeat has no one
meaning (Python's ``json`` keeps the last, other readers the first), so two
readers of the same signed line could disagree about what was signed. And a
base64url text has exactly one spelling here: no padding, the URL alphabet
only, and the unused low bits of the last character zero, so that re-encoding
the decoded bytes gives the same text. Both checks raise ``ValueError`` with
a message naming what was wrong; the callers turn it into their own error.

This module needs nothing but the standard library, so the offline proof
checkers (:mod:`wonledger.audit.proofs`) can use it as well as the wire format.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

#: A JSON value as rfc8785 takes it (and as :func:`loads` gives it).
JsonValue: TypeAlias = bool | int | float | str | Sequence["JsonValue"] | Mapping[str, "JsonValue"] | None

_B64URL = re.compile(r"[A-Za-z0-9_-]*")
#: The last character a canonical base64url text may end with, by its length modulo 4: with 2 left
#: over it carries 4 unused bits, with 3 left over 2, and canonical text has them zero.
_CANONICAL_LAST = {2: frozenset("AQgw"), 3: frozenset("AEIMQUYcgkosw048")}


class DuplicateMember(ValueError):
    """A JSON object names the same member twice."""

    def __init__(self, name: str) -> None:
        super().__init__(f"the member name {name!r} appears twice in one object (I-JSON, RFC 7493, forbids it)")
        self.name = name


def unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` for :mod:`json`: the object, or :class:`DuplicateMember`."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                raise DuplicateMember(name)
            seen.add(name)
    return obj


def loads(text: str | bytes) -> Any:
    """JSON as I-JSON reads it: duplicate member names refused (``ValueError``)."""
    return json.loads(text, object_pairs_hook=unique_members)


def b64url(raw: bytes) -> str:
    """base64url without padding: the one spelling :func:`unb64url` accepts."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def unb64url(text: object, length: int | None = None, what: str = "the value") -> bytes:
    """The bytes of a canonical base64url text (of ``length`` bytes when given), or ``ValueError``."""
    if not isinstance(text, str) or not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError(f"{what} is not base64url text (URL alphabet, no padding)")
    # Text of the alphabet decodes one way but for the unused low bits of its last character:
    # re-encoding gives the same text exactly when they are zero (checked without re-encoding).
    left = len(text) % 4
    if left and text[-1] not in _CANONICAL_LAST[left]:
        raise ValueError(f"{what} is not canonical base64url (re-encoding its bytes gives other text)")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError(f"{what} is not base64url text (URL alphabet, no padding)") from None
    if length is not None and len(raw) != length:
        raise ValueError(f"{what} is not the base64url of {length} bytes")
    return raw
