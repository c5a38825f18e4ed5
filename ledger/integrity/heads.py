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
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.errors import IntegrityFailure, InvalidInput
from ledger.integrity.walker import Head

HEAD_FORMAT = "certledger-head/1"
SIGNATURE_ALGORITHM = "Ed25519"


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


class PublishedHead:
    """A head read back from a file, with what its signature check found."""

    def __init__(self, path: str, head: Head, signature: dict[str, Any] | None, signature_checked: bool):
        self.path = path
        self.head = head
        self.signature = signature
        self.signature_checked = signature_checked

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
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(f"head file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidInput(f"cannot read head file {path}: {error}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidInput(f"head {path} is not JSON: {error}") from None
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
    data = _read_key_file(path, "signing key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise InvalidInput(f"signing key {path} is encrypted; give an unencrypted PEM key") from None
    except ValueError:
        raise InvalidInput(f"signing key {path} is not a PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidInput(f"signing key {path} is not an Ed25519 key (make one with certledger keygen)")
    return key


def load_public_key(path: str) -> Ed25519PublicKey:
    data = _read_key_file(path, "public key")
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError:
        raise InvalidInput(f"public key {path} is not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidInput(f"public key {path} is not an Ed25519 key")
    return key


def _read_key_file(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise InvalidInput(f"{what} {path} does not exist") from None
    except OSError as error:
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
