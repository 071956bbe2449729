"""Signing the report digest with a Key Vault / Managed HSM key, and checking the signature.

What is signed: the hash of the report's canonical form (:func:`reports.integrity.canonical_bytes`)
with the hash function of the signature algorithm: SHA-256 for PS256/RS256/ES256/ES256K, SHA-384
for ES384, SHA-512 for ES512. For EdDSA (Ed25519, Managed HSM ``OKP-HSM`` keys), which signs a
message rather than a digest, the message is the 32-byte SHA-256 digest of the canonical form.

The algorithm follows the key type: RSA keys use PS256, EC keys the ES algorithm of their curve,
OKP keys EdDSA. The signature is stored as ``integrity.signature`` = ``{key_id, algorithm,
value}`` (``value`` base64url, raw ``r||s`` for ECDSA as JOSE and Key Vault use), next to the
digest; the versioned key id names exactly the key version whose public half verifies it.

Signing is the only data-plane POST kvaudit ever sends, and only with ``--sign-with``. The
Azure SDK is imported inside the functions that need it, so other commands never pay for it.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from kvaudit.reports.integrity import canonical_bytes
from kvaudit.scanner.errors import InputError, UsageError

#: algorithm -> hashlib name of the digest it signs
HASHES = {
    "PS256": "sha256",
    "RS256": "sha256",
    "ES256": "sha256",
    "ES256K": "sha256",
    "ES384": "sha384",
    "ES512": "sha512",
    "EdDSA": "sha256",
}
EC_ALGORITHMS = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512", "P-256K": "ES256K", "SECP256K1": "ES256K"}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def signed_digest(report: dict[str, Any], algorithm: str) -> bytes:
    """The bytes handed to the signing operation for ``algorithm``."""
    return hashlib.new(HASHES[algorithm], canonical_bytes(report)).digest()


def algorithm_for(kty: str, crv: str | None) -> str:
    """The signature algorithm kvaudit uses for a key of this type and curve."""
    base = str(kty).removesuffix("-HSM").upper()
    if base == "RSA":
        return "PS256"
    if base == "EC":
        if crv and crv.upper() in EC_ALGORITHMS:
            return EC_ALGORITHMS[crv.upper()]
        raise UsageError(f"--sign-with: unsupported EC curve {crv!r}")
    if base == "OKP":
        return "EdDSA"
    raise UsageError(f"--sign-with: a {kty} key cannot sign (use an RSA, EC or OKP key)")


@dataclass(frozen=True)
class KeyRef:
    vault_url: str
    name: str
    version: str | None


def parse_key_id(key_id: str) -> KeyRef:
    """``https://<vault or hsm>/keys/<name>[/<version>]`` -> its parts (a usage error otherwise)."""
    parts = urlsplit(key_id)
    segments = [s for s in parts.path.split("/") if s]
    if parts.scheme != "https" or not parts.netloc or len(segments) not in (2, 3) or segments[0] != "keys":
        raise UsageError(f"not a Key Vault key id: {key_id!r} (expected https://<vault>/keys/<name>[/<version>])")
    return KeyRef(f"https://{parts.netloc}/", segments[1], segments[2] if len(segments) == 3 else None)


def _verify_challenge(vault_url: str) -> bool:
    """Check the auth challenge's resource only on the known clouds' DNS names.

    The SDK refuses a challenge whose resource is not a parent domain of the vault host, which a
    vault reached through a private DNS name or an address can never satisfy.
    """
    from kvaudit.scanner.azure.clouds import named_cloud

    host = (urlsplit(vault_url).hostname or "").lower()
    suffixes = []
    for name in ("public", "usgov", "china"):
        cloud = named_cloud(name)
        suffixes += [s for s in (cloud.keyvault_dns_suffix, cloud.managedhsm_dns_suffix) if s]
    return any(host.endswith("." + s) for s in suffixes)


def _client_kwargs(vault_url: str, ca_bundle: Path | str | None) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"verify_challenge_resource": _verify_challenge(vault_url)}
    if ca_bundle:
        kwargs["connection_verify"] = str(ca_bundle)
    return kwargs


def _credential(credential: Any, ca_bundle: Path | str | None) -> Any:
    if credential is not None:
        return credential
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential(**({"connection_verify": str(ca_bundle)} if ca_bundle else {}))


def sign_report(
    report: dict[str, Any], key_id: str, credential: Any = None, ca_bundle: Path | str | None = None
) -> dict[str, Any]:
    """Sign the sealed report's digest with the key; adds ``integrity.signature`` and returns it."""
    from azure.core.exceptions import AzureError
    from azure.keyvault.keys import KeyClient
    from azure.keyvault.keys.crypto import CryptographyClient

    ref = parse_key_id(key_id)
    credential = _credential(credential, ca_bundle)
    kwargs = _client_kwargs(ref.vault_url, ca_bundle)
    try:
        client = KeyClient(ref.vault_url, credential, **kwargs)
        key = client.get_key(ref.name, ref.version)
        algorithm = algorithm_for(_text(key.key_type) or "", _text(key.key.crv))
        digest = signed_digest(report, algorithm)
        if algorithm == "EdDSA":
            signed_by, value = _sign_okp(client, key.name, key.properties.version, digest)
        else:
            result = CryptographyClient(key.id, credential, **kwargs).sign(algorithm, digest)
            signed_by, value = result.key_id, result.signature
    except AzureError as exc:
        message = " ".join(str(getattr(exc, "message", None) or exc).split())[:300]
        raise UsageError(f"--sign-with {key_id}: signing failed: {message}") from None
    signature = {"key_id": signed_by or key.id, "algorithm": algorithm, "value": b64url(value)}
    report["integrity"]["signature"] = signature
    return signature


def _sign_okp(client: Any, name: str, version: str, digest: bytes) -> tuple[str | None, bytes]:
    """EdDSA through the documented sign operation, sent on the KeyClient's own pipeline.

    CryptographyClient refuses OKP keys (azure-keyvault-keys has no OKP key type), so the
    request it would send, ``POST keys/{name}/{version}/sign``, is sent directly instead.
    """
    from azure.core.exceptions import HttpResponseError
    from azure.core.rest import HttpRequest

    request = HttpRequest(
        "POST",
        f"keys/{name}/{version}/sign",
        params={"api-version": client.api_version},
        json={"alg": "EdDSA", "value": b64url(digest)},
    )
    response = client.send_request(request)
    if response.status_code != 200:
        raise HttpResponseError(response=response)
    body = response.json()
    return body.get("kid"), b64url_decode(body["value"])


def fetch_public_key(key_id: str, credential: Any = None, ca_bundle: Path | str | None = None) -> dict[str, Any]:
    """The public JWK of the (versioned) signing key, read with get_key."""
    from azure.core.exceptions import AzureError
    from azure.keyvault.keys import KeyClient

    ref = parse_key_id(key_id)
    try:
        key = KeyClient(ref.vault_url, _credential(credential, ca_bundle), **_client_kwargs(ref.vault_url, ca_bundle))
        jwk = key.get_key(ref.name, ref.version).key
    except AzureError as exc:
        message = " ".join(str(getattr(exc, "message", None) or exc).split())[:300]
        raise UsageError(f"cannot fetch the public key {key_id}: {message} (or pass --public-key FILE)") from None
    members = {
        "kty": jwk.kty,
        "crv": jwk.crv,
        "n": jwk.n,
        "e": jwk.e,
        "x": jwk.x,
        "y": jwk.y,
    }
    # The SDK gives enums for kty/crv (or plain strings for types it has no enum for, e.g. OKP).
    return {
        k: b64url(v) if isinstance(v, bytes) else str(getattr(v, "value", v))
        for k, v in members.items()
        if v is not None
    }


def load_public_key(path: Path) -> Any:
    """A public key from a PEM file or a JWK (JSON) file, as a ``cryptography`` key or JWK dict."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(str(path), f"cannot read: {exc.strerror or exc}") from None
    if b"-----BEGIN" in data:
        from cryptography.hazmat.primitives.serialization import load_pem_public_key

        try:
            return load_pem_public_key(data)
        except ValueError as exc:
            raise InputError(str(path), f"not a PEM public key: {exc}") from None
    try:
        jwk = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise InputError(str(path), "neither a PEM public key nor a JWK (JSON)") from None
    if isinstance(jwk, dict) and isinstance(jwk.get("key"), dict):
        jwk = jwk["key"]  # a whole KeyBundle as `az keyvault key show` prints it
    if not isinstance(jwk, dict) or "kty" not in jwk:
        raise InputError(str(path), "not a JWK (no 'kty' member)")
    return jwk


def _text(value: Any) -> str | None:
    """An SDK enum member or string as its plain string value."""
    return None if value is None else str(getattr(value, "value", value))


def _int(value: str) -> int:
    return int.from_bytes(b64url_decode(value), "big")


def public_key_from_jwk(jwk: dict[str, Any]) -> Any:
    """A ``cryptography`` public key from a JWK (RSA, EC or OKP Ed25519)."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    kty = str(jwk.get("kty", "")).removesuffix("-HSM").upper()
    try:
        if kty == "RSA":
            return rsa.RSAPublicNumbers(_int(jwk["e"]), _int(jwk["n"])).public_key()
        if kty == "EC":
            curves = {"P-256": ec.SECP256R1, "P-384": ec.SECP384R1, "P-521": ec.SECP521R1, "P-256K": ec.SECP256K1}
            curve = curves[str(jwk["crv"]).upper()]()
            return ec.EllipticCurvePublicNumbers(_int(jwk["x"]), _int(jwk["y"]), curve).public_key()
        if kty == "OKP" and str(jwk.get("crv")) == "Ed25519":
            return ed25519.Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"]))
    except (KeyError, ValueError, TypeError) as exc:
        raise UsageError(f"unusable public key: {exc}") from None
    raise UsageError(f"unsupported public key type {jwk.get('kty')!r} / {jwk.get('crv')!r}")


@dataclass(frozen=True)
class SignatureCheck:
    ok: bool
    reason: str


def verify_signature(report: dict[str, Any], public_key: Any) -> SignatureCheck:
    """Check ``integrity.signature`` against a public key (JWK dict or ``cryptography`` key)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils

    signature = (report.get("integrity") or {}).get("signature")
    if not isinstance(signature, dict):
        return SignatureCheck(False, "the report is not signed")
    algorithm = signature.get("algorithm")
    if algorithm not in HASHES:
        return SignatureCheck(False, f"unsupported signature algorithm {algorithm!r}")
    key = public_key_from_jwk(public_key) if isinstance(public_key, dict) else public_key
    try:
        value = b64url_decode(str(signature.get("value", "")))
    except ValueError:
        return SignatureCheck(False, "the signature value is not base64url")
    digest = signed_digest(report, algorithm)
    hash_algorithm = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(), "sha512": hashes.SHA512()}[
        HASHES[algorithm]
    ]
    try:
        if algorithm == "EdDSA" and isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(value, digest)
        elif algorithm.startswith("ES") and isinstance(key, ec.EllipticCurvePublicKey):
            half = len(value) // 2
            der = utils.encode_dss_signature(int.from_bytes(value[:half], "big"), int.from_bytes(value[half:], "big"))
            key.verify(der, digest, ec.ECDSA(utils.Prehashed(hash_algorithm)))
        elif algorithm in ("PS256", "RS256") and isinstance(key, rsa.RSAPublicKey):
            pad = (
                padding.PSS(mgf=padding.MGF1(hash_algorithm), salt_length=hash_algorithm.digest_size)
                if algorithm == "PS256"
                else padding.PKCS1v15()
            )
            key.verify(value, digest, pad, utils.Prehashed(hash_algorithm))
        else:
            return SignatureCheck(False, f"the public key does not fit a {algorithm} signature")
    except InvalidSignature:
        return SignatureCheck(False, f"{algorithm} signature by {signature.get('key_id')} is INVALID")
    return SignatureCheck(True, f"{algorithm} signature by {signature.get('key_id')} is valid")
