"""Model packs: one file holding a model and its card, optionally sealed with AES-256-GCM.

The C core opens packs (csrc/models/model_pack.h, which documents the layout and the threat
model): give its path wherever a model path goes, with the key in the detector option
``key_file`` or ``key_env``, the C callback ``vas_set_model_key_callback``, or ``VASDK_MODEL_KEY``.

    vasdk model keygen KEY
    vasdk model pack MODEL.onnx OUT.vaspack --key-file KEY      # encrypted
    vasdk model pack MODEL.onnx OUT.vaspack --plain             # checksummed, not encrypted
    vasdk model pack --info OUT.vaspack
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import stat
import struct
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import write_atomic

MAGIC = b"VASPACK1"
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
MAX_HEADER = 64 << 10
KEY_ID_LABEL = b"vasdk model pack key id v1"


class PackError(ValueError):
    """A pack or key that cannot be used; the message names the cause."""


def key_id(key: bytes) -> str:
    """The key's public fingerprint, as the C core computes it."""
    return hashlib.sha256(KEY_ID_LABEL + key).hexdigest()[:16]


def parse_key(text: str, origin: str) -> bytes:
    s = text.strip()
    try:
        key = bytes.fromhex(s)
    except ValueError:
        key = b""
    if len(s) != 2 * KEY_BYTES or len(key) != KEY_BYTES:
        raise PackError(f"{origin} does not hold a model pack key: expected 64 hex digits")
    return key


def read_key_file(path: Path) -> bytes:
    st = path.stat()
    if not stat.S_ISREG(st.st_mode):
        raise PackError(f"key file '{path}' is not a regular file")
    if st.st_mode & 0o077:
        raise PackError(f"key file '{path}' is readable or writable by others "
                        f"(mode {stat.S_IMODE(st.st_mode):04o}); chmod 600 it")
    return parse_key(path.read_text(), f"key file '{path}'")


def generate_key(path: Path) -> str:
    """Writes a new random key (64 hex digits) to a new file of mode 0600; returns its id."""
    key = os.urandom(KEY_BYTES)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key.hex() + "\n")
    return key_id(key)


def _aesgcm(key: bytes) -> Any:  # cryptography.hazmat AESGCM, imported lazily
    try:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    except ImportError as e:  # pragma: no cover - setup installs it
        raise PackError("encrypted packs need the 'cryptography' package (pip install cryptography)") from e
    return AESGCM(key)


def write_pack(model: Path, out: Path, key: bytes | None, card: Path | None = None) -> dict:
    """Packs model and card into out, encrypted when key is given; returns the header."""
    card = card or model.with_suffix(".json")
    if not card.is_file():
        raise PackError(f"model card '{card}' not found (give --card)")
    card_bytes = card.read_bytes()
    try:
        name = json.loads(card_bytes).get("name") or model.stem
    except (json.JSONDecodeError, AttributeError) as e:
        raise PackError(f"model card '{card}' is not a JSON object: {e}") from e
    model_bytes = model.read_bytes()
    payload = card_bytes + model_bytes
    header: dict = {"format": 1, "name": str(name), "card_bytes": len(card_bytes),
                    "model_bytes": len(model_bytes)}
    nonce = b""
    if key is None:
        header.update(encryption="none")
    else:
        if len(key) != KEY_BYTES:
            raise PackError(f"a pack key is {KEY_BYTES} bytes, got {len(key)}")
        nonce = os.urandom(NONCE_BYTES)
        header.update(encryption="aes-256-gcm", nonce=nonce.hex(), key_id=key_id(key))
    head = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    prefix = MAGIC + struct.pack("<I", len(head)) + head
    # A sealed pack authenticates the prefix as the cipher's additional data, a plain one ends
    # with the SHA-256 of all before it: either way a changed header is caught.
    if key is None:
        body = payload + hashlib.sha256(prefix + payload).digest()
    else:
        body = _aesgcm(key).encrypt(nonce, payload, prefix)
    write_atomic([(out, prefix + body)])
    return header


@dataclass
class Pack:
    header: dict
    card: bytes
    model: bytes


def read_header(path: Path) -> dict:
    with open(path, "rb") as f:
        data = f.read(len(MAGIC) + 4 + MAX_HEADER)
    if not data.startswith(MAGIC) or len(data) < len(MAGIC) + 4:
        raise PackError(f"'{path}' is not a model pack (no VASPACK1 magic)")
    (n,) = struct.unpack_from("<I", data, len(MAGIC))
    if not 0 < n <= MAX_HEADER or len(data) < len(MAGIC) + 4 + n:
        raise PackError(f"model pack '{path}': bad header length {n}")
    return json.loads(data[len(MAGIC) + 4: len(MAGIC) + 4 + n])


def read_pack(path: Path, key: bytes | None = None) -> Pack:
    """Opens a pack in memory (for checks and tests; the C core is what deployments use)."""
    data = path.read_bytes()
    header = read_header(path)
    start = len(MAGIC) + 4 + struct.unpack_from("<I", data, len(MAGIC))[0]
    prefix, body = data[:start], data[start:]
    if header.get("encryption") == "aes-256-gcm":
        if key is None:
            raise PackError(f"model pack '{path}' is encrypted (key id {header['key_id']})")
        if key_id(key) != header["key_id"]:
            raise PackError(f"wrong key for model pack '{path}': sealed with key id {header['key_id']}")
        from cryptography.exceptions import InvalidTag

        try:
            payload = _aesgcm(key).decrypt(bytes.fromhex(header["nonce"]), body, prefix)
        except InvalidTag as e:
            raise PackError(f"model pack '{path}' failed authentication") from e
    else:
        payload, digest = body[:-32], body[-32:]
        if hashlib.sha256(prefix + payload).digest() != digest:
            raise PackError(f"model pack '{path}' failed its checksum")
    n = header["card_bytes"]
    return Pack(header=header, card=payload[:n], model=payload[n:])


def main(argv: Sequence[str] | None = None, prog: str = "vasdk model pack") -> int:
    p = argparse.ArgumentParser(prog=prog, description="Pack a model and its card into one file, "
                                "encrypted with AES-256-GCM unless --plain.")
    p.add_argument("model", type=Path, nargs="?", help="ONNX model (its card: the same path with .json)")
    p.add_argument("out", type=Path, nargs="?", help="pack to write (e.g. model.vaspack)")
    p.add_argument("--card", type=Path, help="model card (default: MODEL with .json)")
    keys = p.add_mutually_exclusive_group()
    keys.add_argument("--key-file", type=Path, help="key file: 64 hex digits, mode 0600")
    keys.add_argument("--key-env", help="environment variable holding the key")
    keys.add_argument("--new-key", type=Path, help="generate a key into this new file (mode 0600)")
    keys.add_argument("--plain", action="store_true", help="no encryption (a SHA-256 checksum only)")
    p.add_argument("--info", type=Path, metavar="PACK", help="print a pack's header and exit")
    args = p.parse_args(argv)
    try:
        if args.info:
            print(json.dumps(read_header(args.info), indent=2))
            return 0
        if args.model is None or args.out is None:
            p.error("MODEL and OUT are required")
        key: bytes | None = None
        if args.new_key:
            generate_key(args.new_key)
            key = read_key_file(args.new_key)
        elif args.key_file:
            key = read_key_file(args.key_file)
        elif args.key_env:
            value = os.environ.get(args.key_env)
            if not value:
                raise PackError(f"environment variable {args.key_env} is not set")
            key = parse_key(value, f"environment variable {args.key_env}")
        elif not args.plain:
            p.error("give a key (--key-file, --key-env or --new-key), or --plain for no encryption")
        header = write_pack(args.model, args.out, key, args.card)
    except (PackError, OSError) as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 1
    kind = f"encrypted, key id {header['key_id']}" if key else "plain, sha256 checksum"
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes; {kind})")
    return 0


def keygen_main(argv: Sequence[str] | None = None, prog: str = "vasdk model keygen") -> int:
    p = argparse.ArgumentParser(prog=prog, description="Write a new random model pack key "
                                "(64 hex digits) to a new file of mode 0600.")
    p.add_argument("out", type=Path)
    args = p.parse_args(argv)
    try:
        kid = generate_key(args.out)
    except OSError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 1
    print(f"wrote {args.out} (key id {kid})")
    return 0
