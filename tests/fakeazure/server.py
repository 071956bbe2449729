"""FakeAzure: a local HTTPS Azure (identity, ARM, Resource Graph, Log Analytics, Key Vault, Managed HSM).

One aiohttp application runs on its own event loop in a background thread.  It listens on one
port for ARM and the query APIs, one plain-HTTP port for the App Service managed-identity token
endpoint (as App Service itself serves it), and one port per vault and HSM, because the Key Vault
SDK accepts only ``https://host[:port]/keys/...`` identifiers (no path prefix) and ``*.localhost``
names do not resolve here.  The plane of a request is chosen by the local port it arrived on.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import shutil
import socket
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trustme
from aiohttp import web

from tests.fakeazure import arm, dataplane
from tests.fakeazure.counters import COUNTERS_PATH, RequestCounters
from tests.fakeazure.faults import Faults, FaultState, retry_after_header
from tests.fakeazure.index import EstateIndex, Owner
from tests.fakeazure.wire import Call, FakeError, json_response

VAULT_AUDIENCE = "https://vault.azure.net"
HSM_AUDIENCE = "https://managedhsm.azure.net"
KV_SERVICE_VERSION = "1.9.2405.1"


@dataclass
class RecordedRequest:
    """One request as the fake saw it; ``status`` is None while it is still being answered."""

    method: str
    host: str
    port: int
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    time: float
    body: bytes
    plane: str
    target: str
    status: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def route(self) -> str:
        return f"{self.method} {self.target}{self.path}"


def _listen() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.setblocking(False)
    return sock


class FakeAzure:
    """Context manager running the fake; see README.md for the endpoints and the estate format."""

    def __init__(
        self,
        estate: dict[str, Any],
        faults: Faults | None = None,
        latency: float = 0.0,
        page_size: int | None = None,
        record: bool = True,
    ) -> None:
        self.estate = estate
        self.faults = faults or Faults()
        self.latency = latency
        self.page_size = page_size
        self.record = record
        self.requests: list[RecordedRequest] = []
        self.counters = RequestCounters()  # kept even with record=False (see counters.py)
        self.tokens: dict[str, str] = {}  # issued token -> resource
        self._token_counter = itertools.count(1)
        self._identity_secret = secrets.token_hex(16)
        self._tmp: Path | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self._sockets: dict[str, socket.socket] = {}
        self.index: EstateIndex | None = None
        self.state = FaultState(self.faults)

    # -- lifecycle ----------------------------------------------------------------------------

    def __enter__(self) -> FakeAzure:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Generate the CA and certificate, bind every port, and serve in a background thread."""
        self._tmp = Path(tempfile.mkdtemp(prefix="fakeazure-"))
        ca = trustme.CA(organization_name="kvaudit fake Azure CA")
        cert = ca.issue_cert("127.0.0.1", "localhost")
        ca.cert_pem.write_to_path(str(self._tmp / "ca.pem"))
        self._ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(self._ssl)
        self._sockets = {"arm": _listen(), "identity": _listen()}
        owner_names = [
            r["name"].lower()
            for r in self.estate["resources"]
            if r["type"].lower() in ("microsoft.keyvault/vaults", "microsoft.keyvault/managedhsms")
        ]
        for name in owner_names:
            self._sockets["owner:" + name] = _listen()
        ports = {name: self._sockets["owner:" + name].getsockname()[1] for name in owner_names}
        self.index = EstateIndex(self.estate, ports)
        self._arm_port = self._sockets["arm"].getsockname()[1]
        self._identity_port = self._sockets["identity"].getsockname()[1]
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="fakeazure", daemon=True)
        self._thread.start()
        self._ready.wait(60)
        if self._start_error is not None:
            self.stop()
            raise RuntimeError(f"fake Azure failed to start: {self._start_error}") from self._start_error

    def _run(self) -> None:
        assert self._loop is not None
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._serve_forever_setup())
        except BaseException as exc:  # reported to start()
            self._start_error = exc
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._runner.cleanup())
        self._loop.close()

    async def _serve_forever_setup(self) -> None:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5, handler_cancellation=True)
        await self._runner.setup()
        for key, sock in self._sockets.items():
            ssl_context = None if key == "identity" else self._ssl
            await web.SockSite(self._runner, sock, ssl_context=ssl_context, backlog=512).start()

    def stop(self) -> None:
        """Stop serving, close every port and remove the CA files."""
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(30)
        for sock in self._sockets.values():
            sock.close()
        self._sockets = {}
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    # -- public endpoints ---------------------------------------------------------------------

    @property
    def arm_endpoint(self) -> str:
        return f"https://127.0.0.1:{self._arm_port}"

    @property
    def identity_endpoint(self) -> str:
        return f"http://127.0.0.1:{self._identity_port}/msi/token"

    @property
    def ca_bundle(self) -> str:
        assert self._tmp is not None, "the fake is not running"
        return str(self._tmp / "ca.pem")

    def env(self) -> dict[str, str]:
        """Environment for a subprocess: App Service managed identity served by the fake, and the CA."""
        return {
            "IDENTITY_ENDPOINT": self.identity_endpoint,
            "IDENTITY_HEADER": self._identity_secret,
            "SSL_CERT_FILE": self.ca_bundle,
            "REQUESTS_CA_BUNDLE": self.ca_bundle,
        }

    def vault_uri(self, name: str) -> str:
        """The data-plane URI (``https://127.0.0.1:<port>/``) of a vault or managed HSM."""
        assert self.index is not None
        return self.index.owners_by_name[name.lower()].uri

    def issue_token(self, resource: str) -> str:
        """A token as the identity endpoint would issue it (for tests that skip azure-identity)."""
        token = f"fake-token-{next(self._token_counter)}"
        self.tokens[token] = resource.rstrip("/")
        return token

    # -- request handling ---------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        assert self.index is not None
        sockname = request.transport.get_extra_info("sockname") if request.transport else None
        port = sockname[1] if sockname else 0
        owner = self.index.owners_by_port.get(port)
        plane = "vault" if owner else ("identity" if port == self._identity_port else "arm")
        target = owner.name if owner else plane
        if plane == "arm" and request.path == COUNTERS_PATH:
            return json_response(self.counters.snapshot())
        body = await request.read()
        query = {k: v for k, v in request.query.items()}
        record = RecordedRequest(
            request.method,
            request.host.split(":")[0],
            port,
            request.path,
            query,
            dict(request.headers),
            time.time(),
            body,
            plane,
            target,
        )
        if self.record:
            self.requests.append(record)
        scheme = "http" if plane == "identity" else "https"
        call = Call(
            request,
            plane,
            owner,
            request.path,
            query,
            f"{request.method} {target}{request.path}",
            f"{scheme}://{request.host}",
            body,
            self.index,
            self.state,
            self.page_size,
        )
        try:
            response = await self._serve(call)
        except FakeError as exc:
            response = exc.response()
        if plane == "vault":
            response.headers["x-ms-keyvault-service-version"] = KV_SERVICE_VERSION
            response.headers["x-ms-keyvault-network-info"] = f"conn_type=Ipv4;addr={request.remote};act_addr_fam=Ipv4;"
        response.headers["x-ms-request-id"] = secrets.token_hex(8)
        record.status = response.status
        self.counters.add(plane, request.method, request.path, response.status)
        return response

    async def _serve(self, call: Call) -> web.StreamResponse:
        if call.plane == "identity":
            return self._token(call)
        if self.latency:
            await asyncio.sleep(self.latency)
        self._authenticate(call)
        if "api-version" not in call.query and not call.path.lower().startswith("/v1/"):
            raise FakeError(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        delay = self.state.delay_for(call.route)
        if delay:
            await asyncio.sleep(delay)
        throttle = self.state.throttle_for(call.route)
        if throttle is not None:
            headers = {} if throttle.retry_after is None else {"Retry-After": retry_after_header(throttle.retry_after)}
            raise self._throttled(call, headers)
        error = self.state.error_for(call.route)
        if error is not None:
            raise FakeError(
                error.status,
                "ServiceUnavailable" if error.status == 503 else "InternalServerError",
                "The service is temporarily unavailable."
                if error.status == 503
                else "The server encountered an internal error.",
            )
        extra_headers = self._rate_limit(call)
        if call.owner is not None:
            self._authorise_data_plane(call, call.owner)
            response = dataplane.handle(call)
        else:
            response = arm.handle(call)
        response.headers.update(extra_headers)
        return response

    def _token(self, call: Call) -> web.Response:
        """App Service managed identity (api-version 2019-08-01)."""
        if call.request.headers.get("X-IDENTITY-HEADER") != self._identity_secret:
            return json_response({"statusCode": 401, "message": "X-IDENTITY-HEADER is missing or invalid"}, 401)
        resource = call.query.get("resource")
        if not resource or call.query.get("api-version") != "2019-08-01":
            return json_response(
                {"statusCode": 400, "message": "resource and api-version=2019-08-01 are required"}, 400
            )
        token = self.issue_token(resource)
        return json_response(
            {
                "access_token": token,
                "expires_on": str(int(time.time()) + 3600),
                "resource": resource,
                "token_type": "Bearer",
                "client_id": "f0000000-0000-4000-8000-00000000f00d",
            }
        )

    def _authenticate(self, call: Call) -> None:
        """401 unless the request carries a token this fake issued (data plane: for its audience)."""
        header = call.request.headers.get("Authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else None
        if call.owner is not None:
            audience = HSM_AUDIENCE if call.owner.is_hsm else VAULT_AUDIENCE
            challenge = (
                f'Bearer authorization="https://login.microsoftonline.com/{self.index.tenant}", '  # type: ignore[union-attr]
                f'resource="{audience}"'
            )
            if token is None:
                raise FakeError(
                    401,
                    "Unauthorized",
                    "AKV10000: Request is missing a Bearer or PoP token.",
                    headers={"WWW-Authenticate": challenge},
                )
            if self.tokens.get(token) != audience:
                raise FakeError(
                    401,
                    "Unauthorized",
                    f"AKV10022: Invalid audience. Expected {audience}, found: {self.tokens.get(token)}.",
                    headers={"WWW-Authenticate": challenge},
                )
            return
        if token is None or token not in self.tokens:
            reason = "missing 'Authorization' header" if token is None else "invalid token"
            raise FakeError(
                401,
                "AuthenticationFailed",
                f"Authentication failed. The {reason}.",
                headers={
                    "WWW-Authenticate": 'Bearer authorization_uri="https://login.windows.net/", '
                    f'error="invalid_token", error_description="{reason}"'
                },
            )

    def _authorise_data_plane(self, call: Call, owner: Owner) -> None:
        if owner.name.lower() in self.state.forbidden:
            action = (
                "Microsoft.KeyVault/managedHsm/keys/read/action"
                if owner.is_hsm
                else "Microsoft.KeyVault/vaults/keys/read"
            )
            raise FakeError(
                403,
                "Forbidden",
                "Caller is not authorized to perform action on resource.\r\nIf role assignments, deny "
                "assignments or role definitions were changed recently, please observe propagation "
                f"time.\r\nCaller: appid=f0000000-0000-4000-8000-00000000f00d\r\nAction: '{action}'\r\n"
                f"Resource: '{owner.arm_id.lower()}'\r\nAssignment: (not found)\r\n"
                "DecisionReason: 'DeniedWithNoValidRBAC' \r\n"
                f"Vault: {owner.name};location={owner.body.get('location', '')}\r\n",
                inner="ForbiddenByRbac",
            )

    def _throttled(self, call: Call, headers: dict[str, str]) -> FakeError:
        if call.owner is not None:
            return FakeError(
                429,
                "Throttled",
                "Request was not processed because too many requests were "
                "received. Reason: VaultRequestTypeLimitReached",
                headers=headers,
            )
        if "resourcegraph" in call.path.lower():
            return FakeError(
                429,
                "RateLimiting",
                "Please provide below info when asking for support: "
                f"timestamp = {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}, "
                "correlationId = 00000000-0000-0000-0000-000000000000.",
                headers=headers,
            )
        return FakeError(
            429,
            "TooManyRequests",
            "The request is being throttled as the limit has been reached "
            "for operation type - Read_ObservationWindow_00:05:00.",
            headers=headers,
        )

    def _rate_limit(self, call: Call) -> dict[str, str]:
        """Service-like throttling; returns headers the service adds to successful responses."""
        if call.owner is not None:
            for limiter, key in (
                (self.state.vault_limiter, call.owner.name.lower()),
                (self.state.vault_subscription_limiter, call.owner.subscription),
            ):
                if limiter is not None:
                    ok, _, wait = limiter.check(key)
                    if not ok:
                        raise self._throttled(call, {"Retry-After": retry_after_header(wait)})
            return {}
        if "resourcegraph" in call.path.lower() and self.state.graph_limiter is not None:
            caller = call.request.headers.get("Authorization", "")
            ok, remaining, wait = self.state.graph_limiter.check(caller)
            resets = time.strftime("%H:%M:%S", time.gmtime(max(wait, 0)))
            if not ok:
                raise self._throttled(
                    call,
                    {
                        "Retry-After": retry_after_header(wait),
                        "x-ms-user-quota-remaining": "0",
                        "x-ms-user-quota-resets-after": resets,
                    },
                )
            return {"x-ms-user-quota-remaining": str(remaining), "x-ms-user-quota-resets-after": "00:00:05"}
        if self.state.arm_limiter is not None:
            parts = call.path.split("/")
            key = parts[2].lower() if len(parts) > 2 and parts[1].lower() == "subscriptions" else "tenant"
            ok, remaining, wait = self.state.arm_limiter.check(key)
            if not ok:
                raise self._throttled(
                    call, {"Retry-After": retry_after_header(wait), "x-ms-ratelimit-remaining-subscription-reads": "0"}
                )
            return {"x-ms-ratelimit-remaining-subscription-reads": str(remaining)}
        return {}
