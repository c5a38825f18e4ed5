"""Chain heads: the small JSON document a ledger publishes, and its Ed25519 signature.

A head names one chain entry (seq and entry hash). Whoever keeps a copy can later run
``verify --head`` to prove that the ledger still extends it: nothing at or before that seq was
changed, removed or rewritten since. The format is specified in docs/integrity.md.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, TypeVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.errors import IntegrityFailure, InvalidInput
from ledger.integrity.walker import Head

HEAD_FORMAT = "certledger-head/1"
SIGNATURE_ALGORITHM = "Ed25519"

Key = TypeVar("Key", Ed25519PrivateKey, Ed25519PublicKey)
Contents = TypeVar("Contents", str, bytes)


def head_document(head: Head, signing_key: Ed25519PrivateKey | None = None) -> dict[str, Any]:
    document: dict[str, Any] = {
        "format": HEAD_FORMAT,
        "seq": head.seq,
        "hash": head.entry_hash.hex(),
        "recorded_at": head.recorded_at,
    }
    if signing_key is not None:
        document["signature"] = {
            "algorithm": SIGNATURE_ALGORITHM,
            "key_id": key_id(signing_key.public_key()),
            "value": base64.b64encode(signing_key.sign(signed_bytes(document))).decode("ascii"),
        }
    return document


def head_json(head: Head, signing_key: Ed25519PrivateKey | None = None) -> str:
    return json.dumps(head_document(head, signing_key), indent=2) + "\n"


def signed_bytes(document: dict[str, Any]) -> bytes:
    """What the signature covers: the document without its signature, as canonical JSON."""
    unsigned = {k: v for k, v in document.items() if k != "signature"}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def key_id(public_key: Ed25519PublicKey) -> str:
    """A short name for a public key: the first 16 hex digits of SHA-256 of its 32 raw bytes."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


# ---------------------------------------------------------------- reading a published head


@dataclass
class PublishedHead:
    """A head read back from a file, with what its signature check found."""

    path: str
    head: Head
    signature: dict[str, Any] | None
    signature_checked: bool

    def describe(self) -> str:
        if self.signature is None:
            signed = "unsigned"
        elif self.signature_checked:
            signed = f"signature valid, key {self.signature.get('key_id')}"
        else:
            signed = "signature not checked: no --public-key"
        return f"extends head seq {self.head.seq} from {self.path} ({signed})"


def read_head(path: str, public_key_path: str | None = None) -> PublishedHead:
    """Parse a head file; with a public key, refuse it unless its signature verifies with that key."""
    document = _read_json(path)
    head = _parse_head(path, document)
    signature = document.get("signature")
    if signature is not None and not isinstance(signature, dict):
        raise InvalidInput(f"head {path}: \"signature\" must be an object")
    if public_key_path is None:
        return PublishedHead(path, head, signature, False)
    public_key = load_public_key(public_key_path)
    if signature is None:
        raise IntegrityFailure(f"head {path} is not signed, so --public-key {public_key_path} cannot vouch for it")
    _check_signature(path, document, signature, public_key, public_key_path)
    return PublishedHead(path, head, signature, True)


def _read_json(path: str) -> dict[str, Any]:
    text = _read_file(path, "head file", lambda file: file.read_text(encoding="utf-8"))
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidInput(f"head {path} is not JSON: {error}") from None
    except RecursionError:
        raise InvalidInput(f"head {path} is not a head: its JSON is nested too deeply") from None
    if not isinstance(document, dict):
        raise InvalidInput(f"head {path} is not a JSON object")
    return document


def _parse_head(path: str, document: dict[str, Any]) -> Head:
    if document.get("format") != HEAD_FORMAT:
        raise InvalidInput(f"head {path}: \"format\" must be {HEAD_FORMAT!r}, not {document.get('format')!r}")
    seq = document.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise InvalidInput(f"head {path}: \"seq\" must be a whole number >= 0")
    try:
        entry_hash = bytes.fromhex(str(document.get("hash")))
    except ValueError:
        entry_hash = b""
    if len(entry_hash) != 32:
        raise InvalidInput(f"head {path}: \"hash\" must be 64 hexadecimal digits")
    recorded_at = document.get("recorded_at")
    if recorded_at is not None and not isinstance(recorded_at, str):
        raise InvalidInput(f"head {path}: \"recorded_at\" must be a string or null")
    return Head(seq, entry_hash, recorded_at)


def _check_signature(path: str, document: dict[str, Any], signature: dict[str, Any],
                     public_key: Ed25519PublicKey, public_key_path: str) -> None:
    if signature.get("algorithm") != SIGNATURE_ALGORITHM:
        raise IntegrityFailure(f"head {path}: unsupported signature algorithm {signature.get('algorithm')!r}")
    try:
        value = base64.b64decode(str(signature.get("value")), validate=True)
    except (binascii.Error, ValueError):
        raise IntegrityFailure(f"head {path}: the signature value is not base64") from None
    try:
        public_key.verify(value, signed_bytes(document))
    except InvalidSignature:
        expected, found = key_id(public_key), signature.get("key_id")
        hint = f" (signed by key {found}, not {expected})" if found != expected else " (the head was altered)"
        raise IntegrityFailure(f"head {path}: the signature does not verify with {public_key_path}{hint}") from None


# ---------------------------------------------------------------- keys


def load_private_key(path: str) -> Ed25519PrivateKey:
    return _load_key(path, "signing key", "private", lambda data: serialization.load_pem_private_key(data, None),
                     Ed25519PrivateKey, " (make one with certledger keygen)")


def load_public_key(path: str) -> Ed25519PublicKey:
    return _load_key(path, "public key", "public", serialization.load_pem_public_key, Ed25519PublicKey)


def _load_key(path: str, what: str, pem: str, load: Callable[[bytes], Any], kind: type[Key], hint: str = "") -> Key:
    """An Ed25519 key from a PEM file of ``pem`` kind (private, public); ``what`` names the file in a refusal."""
    data = _read_file(path, what, Path.read_bytes)
    try:
        key = load(data)
    except TypeError:  # a private key under a password
        raise InvalidInput(f"{what} {path} is encrypted; give an unencrypted PEM key") from None
    except ValueError:
        raise InvalidInput(f"{what} {path} is not a PEM {pem} key") from None
    if not isinstance(key, kind):
        raise InvalidInput(f"{what} {path} is not an Ed25519 key{hint}")
    return key


def _read_file(path: str, what: str, read: Callable[[Path], Contents]) -> Contents:
    """Read a file the user named; a missing or unreadable one is refused, named as ``what``."""
    try:
        return read(Path(path))
    except FileNotFoundError:
        raise InvalidInput(f"{what} {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidInput(f"cannot read {what} {path}: {error}") from None


def generate_key_pair(private_path: str, public_path: str) -> str:
    """Write a new Ed25519 key pair as PEM files (the private one readable by its owner only); never overwrite."""
    if Path(private_path).resolve() == Path(public_path).resolve():
        raise InvalidInput("the private and the public key need two different files")
    for path in (private_path, public_path):
        if os.path.lexists(path):
            raise InvalidInput(f"{path} already exists; refusing to overwrite a key file")
        if not Path(path).parent.exists():
            raise InvalidInput(f"cannot write {path}: directory {Path(path).parent} does not exist")
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    _write_new(private_path, private_pem, 0o600)
    try:
        _write_new(public_path, public_pem, 0o644)
    except InvalidInput:
        os.unlink(private_path)
        raise
    return key_id(key.public_key())


def _write_new(path: str, data: bytes, mode: int) -> None:
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise InvalidInput(f"{path} already exists; refusing to overwrite a key file") from None
    except OSError as error:
        raise InvalidInput(f"cannot write {path}: {error}") from None
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
