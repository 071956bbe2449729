"""A tiny HTTPS stand-in for the two Key Vault data-plane calls that report signing makes.

The shared fake (tests/fakeazure) is deliberately read-only and serves synthetic public key
material without private halves, so it cannot produce verifiable signatures. This server holds
*real* keys generated per test (RSA, EC P-256/P-384, Ed25519) and answers, in the 2025-07-01
shapes, ``GET /keys/{name}[/{version}]`` (KeyBundle with the public JWK) and
``POST /keys/{name}/{version}/sign`` (``{"kid", "value"}``), behind the same bearer challenge as
the real service (401 with ``WWW-Authenticate`` first), and logs every request.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import trustme
from aiohttp import web
from azure.core.credentials import AccessToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils

VERSION = "0123456789abcdef0123456789abcdef"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _int_bytes(value: int, length: int | None = None) -> bytes:
    return value.to_bytes(length or (value.bit_length() + 7) // 8, "big")


@dataclass
class SigningKey:
    """A real private key plus the JWK the service would return for it."""

    name: str
    private: Any
    kty: str

    def jwk(self, base_url: str) -> dict[str, Any]:
        public = self.private.public_key()
        jwk: dict[str, Any] = {"kid": f"{base_url}keys/{self.name}/{VERSION}", "kty": self.kty, "key_ops": ["sign"]}
        if isinstance(public, rsa.RSAPublicKey):
            numbers = public.public_numbers()
            jwk.update(n=_b64(_int_bytes(numbers.n)), e=_b64(_int_bytes(numbers.e)))
        elif isinstance(public, ec.EllipticCurvePublicKey):
            numbers = public.public_numbers()
            size = (public.curve.key_size + 7) // 8
            crv = {"secp256r1": "P-256", "secp384r1": "P-384"}[public.curve.name]
            jwk.update(crv=crv, x=_b64(_int_bytes(numbers.x, size)), y=_b64(_int_bytes(numbers.y, size)))
        else:
            from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

            jwk.update(crv="Ed25519", x=_b64(public.public_bytes(Encoding.Raw, PublicFormat.Raw)))
        return jwk

    def sign(self, algorithm: str, digest: bytes) -> bytes:
        if isinstance(self.private, rsa.RSAPrivateKey):
            assert algorithm == "PS256", algorithm
            pad = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
            return self.private.sign(digest, pad, utils.Prehashed(hashes.SHA256()))
        if isinstance(self.private, ec.EllipticCurvePrivateKey):
            chosen = {"ES256": hashes.SHA256(), "ES384": hashes.SHA384()}[algorithm]
            r, s = utils.decode_dss_signature(self.private.sign(digest, ec.ECDSA(utils.Prehashed(chosen))))
            size = (self.private.curve.key_size + 7) // 8
            return _int_bytes(r, size) + _int_bytes(s, size)
        assert algorithm == "EdDSA", algorithm
        return self.private.sign(digest)


def make_keys() -> dict[str, SigningKey]:
    return {
        "rsa-signer": SigningKey("rsa-signer", rsa.generate_private_key(65537, 3072), "RSA-HSM"),
        "ec-signer": SigningKey("ec-signer", ec.generate_private_key(ec.SECP256R1()), "EC-HSM"),
        "ec384-signer": SigningKey("ec384-signer", ec.generate_private_key(ec.SECP384R1()), "EC"),
        "ed-signer": SigningKey("ed-signer", ed25519.Ed25519PrivateKey.generate(), "OKP-HSM"),
    }


class StaticCredential:
    """A credential that hands out one token (the server accepts any bearer token)."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("test-token", int(time.time()) + 3600)


@dataclass
class SignServer:
    keys: dict[str, SigningKey] = field(default_factory=make_keys)
    requests: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.ca = trustme.CA()
        self._cert = self.ca.issue_cert("127.0.0.1")
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}/"

    def key_id(self, name: str, versioned: bool = False) -> str:
        return f"{self.base_url}keys/{name}" + (f"/{VERSION}" if versioned else "")

    def write_ca(self, path: Any) -> str:
        self.ca.cert_pem.write_to_path(str(path))
        return str(path)

    async def _handle(self, request: web.Request) -> web.Response:
        self.requests.append((request.method, request.path))
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            challenge = (
                'Bearer authorization="https://login.microsoftonline.com/00000000-0000-0000-0000-000000000001", '
                'resource="https://vault.azure.net"'
            )
            return web.json_response(
                {"error": {"code": "Unauthorized"}}, status=401, headers={"WWW-Authenticate": challenge}
            )
        parts = [p for p in request.path.split("/") if p]
        if len(parts) < 2 or parts[0] != "keys" or parts[1] not in self.keys:
            return web.json_response({"error": {"code": "KeyNotFound", "message": "no such key"}}, status=404)
        key = self.keys[parts[1]]
        if request.method == "GET" and len(parts) in (2, 3):
            return web.json_response({"key": key.jwk(self.base_url), "attributes": {"enabled": True}})
        if request.method == "POST" and len(parts) == 4 and parts[3] == "sign":
            body = await request.json()
            value = key.sign(body["alg"], _unb64(body["value"]))
            return web.json_response({"kid": key.jwk(self.base_url)["kid"], "value": _b64(value)})
        return web.json_response({"error": {"code": "BadRequest"}}, status=400)

    async def _start(self) -> None:
        import ssl

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._cert.configure_cert(context)
        await web.SockSite(self._runner, self._sock, ssl_context=context).start()

    def __enter__(self) -> SignServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=30)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._runner:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
