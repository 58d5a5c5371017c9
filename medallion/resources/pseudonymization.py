"""The key that turns PII into HMAC-SHA256 pseudonyms.

Supplied from the environment (MEDALLION_PII_KEY) through this resource. For local
development, when no key is set, a random key is created once under data/ with a
warning; it is never committed (data/ is ignored) and never logged.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
import warnings
from pathlib import Path

import dagster as dg
from pydantic import Field, PrivateAttr

MIN_KEY_BYTES = 16


class PseudonymizationResource(dg.ConfigurableResource):
    """HMAC key for pseudonymizing PII columns in silver."""

    key: str | None = Field(
        default=None, description="Secret key; pass dg.EnvVar('MEDALLION_PII_KEY')."
    )
    dev_key_file: str | None = Field(
        default=None, description="Where a development key is created when no key is given."
    )
    _key_bytes: bytes | None = PrivateAttr(default=None)

    def key_bytes(self) -> bytes:
        """The key as bytes; creates the development key file on first use if needed."""
        if self._key_bytes is None:
            self._key_bytes = _resolve_key(self.key, self.dev_key_file)
        return self._key_bytes


def _resolve_key(key: str | None, dev_key_file: str | None) -> bytes:
    if key:
        raw = key.encode("utf-8")
        if len(raw) < MIN_KEY_BYTES:
            raise ValueError(
                f"MEDALLION_PII_KEY is too short ({len(raw)} bytes); use at least {MIN_KEY_BYTES}"
            )
        return raw
    if not dev_key_file:
        raise ValueError("no pseudonymization key: set MEDALLION_PII_KEY")
    path = Path(dev_key_file)
    if not path.exists() and _create_key_file(path):
        warnings.warn(
            f"MEDALLION_PII_KEY is not set: created a development key at {path}. "
            "Set MEDALLION_PII_KEY in production; pseudonyms change with the key.",
            stacklevel=2,
        )
    return path.read_text(encoding="utf-8").strip().encode("utf-8")


def _create_key_file(path: Path) -> bool:
    """Write a new random key to `path` unless another process got there first (two runs
    of a new installation start at once): the key is written whole to a file of this
    process, then linked into place, which fails if the path exists. True if this one won."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    draft.write_text(secrets.token_hex(32), encoding="utf-8")
    draft.chmod(0o600)
    try:
        os.link(draft, path)
        return True
    except FileExistsError:
        return False
    finally:
        draft.unlink()


def hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """Inner and outer HMAC-SHA256 pads, so DuckDB can compute HMAC with sha256() alone."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    block = key.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in block), bytes(b ^ 0x5C for b in block)
