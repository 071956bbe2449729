"""Deterministic public key material for the fake data plane.

The real service returns the public half of every asymmetric key (``n``/``e`` for RSA, ``x``/``y``
for EC, ``x`` for OKP) and nothing for symmetric keys.  Collectors infer the RSA size from the
length of ``n`` and the curve from ``crv``, so the fake must return byte strings of exactly the
right length.  The bytes are derived from a seed so that two runs of the same estate give the same
bodies (snapshots and diffs of test runs stay stable), without any real key generation cost.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

#: Coordinate length in bytes per curve, as the JWK encodings of the real service use.
CURVE_BYTES: dict[str, int] = {"P-256": 32, "P-256K": 32, "P-384": 48, "P-521": 66, "Ed25519": 32}


def b64url(data: bytes) -> str:
    """Base64url without padding, the JOSE encoding Key Vault uses for key material."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _bytes(seed: str, length: int) -> bytes:
    """Expand ``seed`` into ``length`` pseudo-random bytes (SHA-256 in counter mode)."""
    out = bytearray()
    counter = 0
    while len(out) < length:
        out += hashlib.sha256(f"{seed}#{counter}".encode()).digest()
        counter += 1
    return bytes(out[:length])


def version_id(seed: str) -> str:
    """A 32-hex-digit key version like the service issues."""
    return hashlib.md5(seed.encode(), usedforsecurity=False).hexdigest()


def public_jwk(kty: str, seed: str, key_size: int | None = None, crv: str | None = None) -> dict[str, Any]:
    """The public JWK members the service returns for a key of this type.

    RSA modulus: top bit set so that ``len(n) * 8`` is the key size; symmetric keys: no members.
    """
    base = kty.removesuffix("-HSM")
    if base == "RSA":
        size = key_size or 2048
        modulus = bytearray(_bytes(seed, size // 8))
        modulus[0] |= 0x80
        modulus[-1] |= 0x01
        return {"n": b64url(bytes(modulus)), "e": "AQAB"}
    if base == "EC":
        length = CURVE_BYTES[crv or "P-256"]
        return {"crv": crv or "P-256", "x": b64url(_bytes(seed + "x", length)), "y": b64url(_bytes(seed + "y", length))}
    if base == "OKP":
        return {"crv": crv or "Ed25519", "x": b64url(_bytes(seed + "x", CURVE_BYTES["Ed25519"]))}
    return {}
