"""Canonical bytes, Ed25519 signatures and the key store.

The signed payload of a transaction is the RFC 8785 (JCS) canonical form of
its ``tx`` object; a signature is Ed25519 over those bytes, written as
base64url without padding. Keys live in ``$WONLEDGER_KEYS/<participant>.pem``
as PKCS#8 PEM, mode 0600 inside a 0700 directory, encrypted with
``WONLEDGER_KEY_PASSPHRASE`` when that is set. The operator's key, which signs
checkpoints, lives beside them as ``_operator-<ledger id>.pem``: participant
ids never start with "_", so no participant's file can collide with it.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import cast

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from wonledger.domain.errors import BadAmount, BadInput, BadSignature, KeyUnavailable
from wonledger.domain.model import PARTICIPANT_PATTERN, Signature, Tx, check_id
from wonledger.domain.strict import JsonValue
from wonledger.domain.strict import b64url as b64url  # the one spelling of base64url (ledger.strict), re-exported
from wonledger.domain.strict import unb64url as strict_unb64url

PASSPHRASE_ENV = "WONLEDGER_KEY_PASSPHRASE"
#: The operator key's file name starts with this, which no participant id may.
OPERATOR_PREFIX = "_operator-"


#: RFC 8785 writes numbers as IEEE doubles: integers beyond this are refused.
_SAFE_INTEGER = 2**53 - 1
_plain_json = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False).encode


def _plain(value: object) -> bool:
    """Whether the standard library's JSON of ``value`` is already its RFC 8785 form.

    It is for objects with ASCII keys (JCS sorts keys by UTF-16 code units,
    which for ASCII is Python's order), lists, strings (both escape exactly
    ``"``, ``\\`` and the C0 controls, the same way), booleans, null and
    integers within the double-exact range. Floats and anything else go
    through the rfc8785 package.
    """
    # Loops rather than all(<generator>), and text (most values) settled without a call: every
    # entry ingested and every entry verify replays is walked here.
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return -_SAFE_INTEGER <= value <= _SAFE_INTEGER  # type: ignore[operator]
    if kind is dict:
        for k, v in value.items():  # type: ignore[attr-defined]
            if type(k) is not str or not k.isascii() or (type(v) is not str and not _plain(v)):
                return False
        return True
    if kind is list:
        for v in value:  # type: ignore[attr-defined]
            if type(v) is not str and not _plain(v):
                return False
        return True
    return False


def canonical_bytes(obj: object, plain: bool = False) -> bytes:
    """RFC 8785 bytes of a JSON value (refuses floats beyond the integer domain).

    ``plain=True`` says the caller already knows ``obj`` is plain JSON as
    described below (the wire module's parser has checked every value of a
    transaction and its signatures), so the walk that proves it is skipped.

    Transactions are plain JSON (text, integers, lists, objects with ASCII
    keys), for which the standard library's encoder with sorted keys and no
    spaces gives the same bytes as the rfc8785 package in a third of the
    time (5 µs against 14 µs for a transfer here); batch ingest and the
    hash chain spend much of their time here, and a property test holds
    the two to byte equality. Anything else goes to rfc8785 itself.
    """
    if plain or _plain(obj):
        try:
            return _plain_json(obj).encode("utf-8")
        except (UnicodeEncodeError, TypeError, ValueError):
            pass  # a lone surrogate, or not plain after all: rfc8785 decides below
    try:
        # Any object is taken: rfc8785 refuses what is not JSON with the errors mapped below.
        return rfc8785.dumps(cast(JsonValue, obj))
    except rfc8785.IntegerDomainError as exc:
        raise BadAmount(f"an integer is beyond what canonical JSON can carry exactly: {exc}") from None
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise BadInput(f"cannot canonicalize: {exc}") from None


def tx_bytes(tx: Tx) -> bytes:
    """The bytes a transaction's signers sign."""
    return canonical_bytes(tx.to_wire())


def unb64url(text: str) -> bytes:
    """The bytes of a signature or key in canonical base64url (no padding, URL alphabet, one spelling)."""
    if not isinstance(text, str) or len(text) > 200:
        raise BadSignature("a signature must be base64url text")
    try:
        return strict_unb64url(text, None, "a signature")
    except ValueError as exc:
        raise BadSignature(str(exc)) from None


def public_key_from_bytes(raw: bytes) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(raw)


def public_bytes(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return pub.public_bytes_raw()


def sign_bytes(key: Ed25519PrivateKey, signer: str, payload: bytes) -> Signature:
    return Signature(signer=signer, sig=b64url(key.sign(payload)))


def signature_holds(public_key: Ed25519PublicKey, payload: bytes, sig: str) -> bool:
    raw = unb64url(sig)
    if len(raw) != 64:
        return False
    try:
        public_key.verify(raw, payload)
    except InvalidSignature:
        return False
    return True


class KeyStore:
    """Private keys of participants, one PKCS#8 PEM file each."""

    def __init__(self, directory: str | os.PathLike[str], passphrase: str | None = None) -> None:
        self.directory = Path(directory)
        if passphrase is None:
            passphrase = os.environ.get(PASSPHRASE_ENV) or None
        self._passphrase = passphrase.encode() if passphrase else None
        self._cache: dict[str, Ed25519PrivateKey] = {}
        #: The file each cached key was read from (inode, mtime, size): a replaced file is read again.
        self._file_seen: dict[str, tuple[int, int, int]] = {}

    def path(self, participant: str) -> Path:
        check_id(participant, "participant id", PARTICIPANT_PATTERN)
        return self.directory / f"{participant}.pem"

    def has(self, participant: str) -> bool:
        return self.path(participant).exists()

    def operator_path(self, ledger_id: str) -> Path:
        """Where the key that signs ``ledger_id``'s checkpoints lives."""
        check_id(ledger_id, "ledger id")
        return self.directory / f"{OPERATOR_PREFIX}{ledger_id}.pem"

    def create_operator(self, ledger_id: str) -> Ed25519PrivateKey:
        """Make the operator key of ``ledger_id``; refuses to overwrite one."""
        return self._create(self.operator_path(ledger_id), f"the operator of {ledger_id}", OPERATOR_PREFIX + ledger_id)

    def load_operator(self, ledger_id: str) -> Ed25519PrivateKey:
        return self._load(self.operator_path(ledger_id), f"the operator of {ledger_id}", OPERATOR_PREFIX + ledger_id)

    def create(self, participant: str) -> Ed25519PrivateKey:
        """Make a new key for ``participant``; refuses to overwrite one."""
        return self._create(self.path(participant), participant, participant)

    def stage(self, participant: str) -> Ed25519PrivateKey:
        """Make the key that will replace ``participant``'s, beside it (``<id>.pem.next``).

        It becomes the key only with :meth:`promote`, once the ledger has
        registered it; :meth:`discard` removes it if that never happens. A
        staged key left by an interrupted rotation is replaced.
        """
        staged = self._staged_path(participant)
        staged.unlink(missing_ok=True)
        key = Ed25519PrivateKey.generate()
        self._write_new(staged, key, participant)
        return key

    def promote(self, participant: str) -> None:
        """The staged key replaces the current one (whose file is gone afterwards)."""
        os.replace(self._staged_path(participant), self.path(participant))
        self._cache.pop(participant, None)

    def discard(self, participant: str) -> None:
        self._staged_path(participant).unlink(missing_ok=True)

    def _staged_path(self, participant: str) -> Path:
        return self.path(participant).with_name(f"{participant}.pem.next")

    def _create(self, path: Path, whose: str, cache_key: str) -> Ed25519PrivateKey:
        key = Ed25519PrivateKey.generate()
        self._write_new(path, key, whose)
        self._cache[cache_key] = key
        return key

    def _write_new(self, path: Path, key: Ed25519PrivateKey, whose: str) -> None:
        from cryptography.hazmat.primitives import serialization  # only commands that make or read keys need it

        self._ensure_directory()
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(self._passphrase)
            if self._passphrase
            else serialization.NoEncryption()
        )
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise KeyUnavailable(f"a key for {whose} already exists at {path}") from None
        except OSError as exc:
            raise KeyUnavailable(f"cannot write {path}: {exc.strerror}") from None
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
            out.flush()
            os.fsync(out.fileno())  # a key the ledger registers must survive a crash

    def load(self, participant: str) -> Ed25519PrivateKey:
        """``participant``'s private key; read again when its file changed (a rotation by another process)."""
        return self._load(self.path(participant), participant, participant)

    def _load(self, path: Path, whose: str, cache_key: str) -> Ed25519PrivateKey:
        try:
            found = path.stat()
        except FileNotFoundError:
            raise KeyUnavailable(f"no key for {whose} in {self.directory}", hint="keys") from None
        mode, identity = found.st_mode, (found.st_ino, found.st_mtime_ns, found.st_size)
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyUnavailable(f"{path} is open to other users (mode {stat.S_IMODE(mode):o}); chmod 600 it")
        directory_mode = self.directory.stat().st_mode
        if directory_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyUnavailable(
                f"the key directory {self.directory} is open to other users (mode {stat.S_IMODE(directory_mode):o}); chmod 700 it"
            )
        cached = self._cache.get(cache_key)
        if cached is not None and self._file_seen.get(cache_key) == identity:
            return cached
        from cryptography.hazmat.primitives import serialization  # only commands that make or read keys need it

        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=self._passphrase)
        except TypeError:
            raise KeyUnavailable(
                f"{path} is encrypted and {PASSPHRASE_ENV} is not set"
                if self._passphrase is None
                else f"{path} is not encrypted but {PASSPHRASE_ENV} is set"
            ) from None
        except ValueError:
            raise KeyUnavailable(f"{path} cannot be read (wrong passphrase or not a PEM key)") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyUnavailable(f"{path} is not an Ed25519 key")
        self._cache[cache_key] = key
        self._file_seen[cache_key] = identity
        return key

    def sign(self, participant: str, payload: bytes) -> Signature:
        return sign_bytes(self.load(participant), participant, payload)

    def _ensure_directory(self) -> None:
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise KeyUnavailable(f"cannot create key directory {self.directory}: {exc.strerror}") from None
        mode = stat.S_IMODE(self.directory.stat().st_mode)
        if mode & 0o077:
            os.chmod(self.directory, 0o700)
