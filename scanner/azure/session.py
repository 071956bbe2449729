"""One aiohttp session, one transport, one credential and one pacer shared by every client.

Sharing the transport means one connection pool for the whole scan (so ``--max-in-flight``
really bounds the sockets), one TLS configuration (``--ca-bundle``) and one place where the
per-request timeout is set. Clients are cached: one management client per subscription, one
data-plane client per vault.

API versions are pinned (:mod:`scanner.azure.apiversions`) and passed to every client.
"""

from __future__ import annotations

import math
import ssl
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from azure.core.pipeline.transport import AioHttpTransport

from kvaudit.scanner.azure.apiversions import API_VERSIONS
from kvaudit.scanner.azure.dataplane import DataPlaneClient
from kvaudit.scanner.azure.options import AzureOptions
from kvaudit.scanner.azure.pacing import Pacer, PacingPolicy, retry_policy
from kvaudit.scanner.azure.transport import LeanAioHttpTransport
from kvaudit.scanner.errors import UsageError

#: Idle connections live this long: longer than a vault's pacing window (1 s), so a vault being
#: scanned keeps its connections, short enough that finished vaults' connections go soon.
KEEPALIVE_SECONDS = 3.0
#: A vault's own pool lives until the vault is done, so its connections may idle through any
#: pacing wait or retry backoff.
VAULT_KEEPALIVE_SECONDS = 60.0
#: The round trip a vault's pool is sized for (see :meth:`AzureSession.data_plane`).
SLOW_ROUND_TRIP_SECONDS = 0.1


def _netloc(url: str | None) -> str | None:
    return urlsplit(url).netloc.lower() if url else None


class AzureSession:
    """Async context manager owning the shared HTTP session, credential and clients."""

    def __init__(self, options: AzureOptions) -> None:
        self.options = options
        self.cloud = options.resolved_cloud()
        arm_hosts = {
            h
            for h in map(
                _netloc, (self.cloud.arm_endpoint, self.cloud.graph_endpoint, self.cloud.loganalytics_endpoint)
            )
            if h
        }
        self.pacer = Pacer(options.vault_rps, options.subscription_rps, options.max_in_flight, arm_hosts)
        self._clients: dict[tuple[str, str], Any] = {}
        self._data_planes: dict[str, Any] = {}
        self._session: aiohttp.ClientSession | None = None
        self.transport: AioHttpTransport | None = None
        self.credential: Any = None

    async def __aenter__(self) -> AzureSession:
        from azure.identity.aio import DefaultAzureCredential

        opts = self.options
        self._ssl = self._ssl_context()
        # Every vault is its own host, so its connections are pooled apart from the others'.
        # Without a per-host cap a vault could open as many connections as requests in flight,
        # and each idle TLS connection keeps a 256 KiB buffer for the keep-alive period: at
        # estate scale thousands of them held most of a GiB. Half the in-flight budget per
        # host still carries a vault's whole rate (and ARM's, which is one host), and idle
        # connections of finished vaults close after a few seconds.
        connector = aiohttp.TCPConnector(
            limit=opts.max_in_flight,
            limit_per_host=max(4, opts.max_in_flight // 2),
            keepalive_timeout=KEEPALIVE_SECONDS,
            ssl=self._ssl,
        )
        self._session = aiohttp.ClientSession(connector=connector)
        # connection_verify stays True: a CA path here would make azure-core build a new
        # SSLContext per request, and aiohttp pools connections per context, so no connection
        # would ever be reused (a TLS handshake per request). The connector's context applies.
        self.transport = AioHttpTransport(
            session=self._session,
            session_owner=False,
            connection_verify=True,
            connection_timeout=opts.timeout,
            read_timeout=opts.timeout,
        )
        cred_kwargs: dict[str, Any] = {"exclude_interactive_browser_credential": True}
        if self.cloud.authority_host:
            cred_kwargs["authority"] = self.cloud.authority_host
        if opts.tenant:
            cred_kwargs["workload_identity_tenant_id"] = opts.tenant
            cred_kwargs["shared_cache_tenant_id"] = opts.tenant
        if opts.ca_bundle:
            cred_kwargs["connection_verify"] = opts.ca_bundle
        self.credential = DefaultAzureCredential(**cred_kwargs)
        await self._check_credential()
        return self

    def _ssl_context(self) -> ssl.SSLContext | bool:
        """One TLS context for every connection, trusting ``--ca-bundle`` when given."""
        if not self.options.ca_bundle:
            return True
        return ssl.create_default_context(cafile=self.options.ca_bundle)

    async def _check_credential(self) -> None:
        """Fail fast, as a configuration error, when no credential in the chain works.

        Otherwise every read would fail on its own and the scan would end as one long list of
        collection errors. The token is cached, so the first ARM call reuses it.
        """
        from azure.core.exceptions import ClientAuthenticationError

        try:
            await self.credential.get_token(self.cloud.arm_scope)
        except ClientAuthenticationError as exc:
            await self.__aexit__(None, None, None)
            first = next((line.strip() for line in str(exc.message or exc).splitlines() if line.strip()), "")
            raise UsageError(
                "no usable Azure credential (managed identity, workload identity, AZURE_CLIENT_* "
                f"variables or az login): {first}"
            ) from None

    async def __aexit__(self, *exc: Any) -> None:
        for client in [*self._clients.values(), *self._data_planes.values()]:
            await client.close()
        self._clients.clear()
        self._data_planes.clear()
        if self.credential is not None:
            await self.credential.close()
        if self._session is not None:
            await self._session.close()

    def pipeline_kwargs(self) -> dict[str, Any]:
        """Keyword arguments every client gets: the shared transport, pacing and retries."""
        opts = self.options
        return {
            "transport": self.transport,
            "retry_policy": retry_policy(opts.retry_total, opts.retry_backoff, opts.retry_backoff_max),
            "custom_hook_policy": PacingPolicy(self.pacer),
        }

    def _cached(self, kind: str, key: str, build: Any) -> Any:
        client = self._clients.get((kind, key))
        if client is None:
            client = self._clients[(kind, key)] = build()
        return client

    def _arm_kwargs(self) -> dict[str, Any]:
        return {
            "base_url": self.cloud.arm_endpoint,
            "credential_scopes": [self.cloud.arm_scope],
            **self.pipeline_kwargs(),
        }

    def keyvault_mgmt(self, subscription_id: str) -> Any:
        from azure.mgmt.keyvault.aio import KeyVaultManagementClient

        return self._cached(
            "kv",
            subscription_id,
            lambda: KeyVaultManagementClient(
                self.credential, subscription_id, api_version=API_VERSIONS["keyvault_mgmt"], **self._arm_kwargs()
            ),
        )

    def authorization(self, subscription_id: str) -> Any:
        from azure.mgmt.authorization.aio import AuthorizationManagementClient

        return self._cached(
            "authz",
            subscription_id,
            lambda: AuthorizationManagementClient(
                self.credential, subscription_id, api_version=API_VERSIONS["authorization"], **self._arm_kwargs()
            ),
        )

    def monitor(self, subscription_id: str) -> Any:
        from azure.mgmt.monitor.aio import MonitorManagementClient

        return self._cached(
            "monitor",
            subscription_id,
            lambda: MonitorManagementClient(
                self.credential,
                subscription_id,
                api_version=API_VERSIONS["monitor_diagnostic_settings"],
                **self._arm_kwargs(),
            ),
        )

    def resource_graph(self) -> Any:
        from azure.mgmt.resourcegraph.aio import ResourceGraphClient

        kwargs = self._arm_kwargs()
        kwargs["base_url"] = self.cloud.graph_endpoint
        return self._cached(
            "graph",
            "",
            lambda: ResourceGraphClient(self.credential, api_version=API_VERSIONS["resource_graph"], **kwargs),
        )

    def keys(self, vault_url: str) -> Any:
        from azure.keyvault.keys.aio import KeyClient

        return self._cached(
            "keys",
            vault_url,
            lambda: KeyClient(
                vault_url,
                self.credential,
                api_version=API_VERSIONS["keyvault_data"],
                verify_challenge_resource=self._verify_challenge(vault_url),
                **self.pipeline_kwargs(),
            ),
        )

    def data_plane(self, vault_url: str) -> DataPlaneClient:
        """One vault or HSM host's reads, answering raw JSON (:mod:`scanner.azure.dataplane`), over
        a lean azure-core pipeline.

        The SDK clients run a dozen policies per request (request ids, logging, tracing,
        redirects, content decoding) and then deserialise every answer into models that the
        collector turns straight back into rows. At estate scale that was most of the scan's CPU,
        so data-plane reads go through only what they need: the user agent, the retries, the Key
        Vault challenge authentication (the SDK's own policy, so tenant and scope are discovered
        as the SDK does) and the pacer, over a transport that hands back the body as it came
        (:mod:`scanner.azure.transport`).

        Each host gets its own connection pool, kept alive for as long as its vault is being
        scanned and closed by :meth:`close_data_plane` when it is done. A shared pool must expire
        idle connections quickly (each idle TLS connection holds a 256 KiB buffer, and a finished
        vault's would pile up), and then a vault waiting out its pacing window lost its
        connections and paid a TLS handshake for every few requests.
        """
        client = self._data_planes.get(vault_url)
        if client is not None:
            return client
        from azure.core import AsyncPipelineClient
        from azure.core.pipeline.policies import UserAgentPolicy
        from azure.keyvault.keys._shared.async_challenge_auth_policy import AsyncChallengeAuthPolicy

        opts = self.options
        # A vault sends at most --vault-rps, so it needs only as many connections as that rate
        # keeps busy over a slow round trip; each extra one costs a TLS handshake.
        connections = max(2, min(opts.max_in_flight, math.ceil(opts.vault_rps * SLOW_ROUND_TRIP_SECONDS)))
        connector = aiohttp.TCPConnector(limit=connections, keepalive_timeout=VAULT_KEEPALIVE_SECONDS, ssl=self._ssl)
        transport = LeanAioHttpTransport(aiohttp.ClientSession(connector=connector), opts.timeout)
        user_agent = UserAgentPolicy(sdk_moniker="kvaudit")
        auth = AsyncChallengeAuthPolicy(self.credential, verify_challenge_resource=self._verify_challenge(vault_url))
        pipeline = AsyncPipelineClient(
            base_url=vault_url,
            transport=transport,
            policies=[
                user_agent,
                retry_policy(opts.retry_total, opts.retry_backoff, opts.retry_backoff_max),
                auth,
                PacingPolicy(self.pacer),
            ],
        )
        client = self._data_planes[vault_url] = DataPlaneClient(
            pipeline, auth, transport, self.pacer, self.pacer.key_for(vault_url), user_agent.user_agent
        )
        return client

    async def close_data_plane(self, vault_url: str) -> None:
        """Close one host's connection pool once its vault has been read."""
        client = self._data_planes.pop(vault_url, None)
        if client is not None:
            await client.close()

    def hsm_access_control(self, hsm_url: str) -> Any:
        from azure.keyvault.administration.aio import KeyVaultAccessControlClient

        return self._cached(
            "hsmrbac",
            hsm_url,
            lambda: KeyVaultAccessControlClient(
                hsm_url,
                self.credential,
                api_version=API_VERSIONS["keyvault_data"],
                verify_challenge_resource=self._verify_challenge(hsm_url),
                **self.pipeline_kwargs(),
            ),
        )

    def logs(self) -> Any:
        from azure.monitor.query.aio import LogsQueryClient

        endpoint = self.cloud.loganalytics_endpoint
        if not endpoint:
            raise ValueError("no Log Analytics endpoint for this cloud (--loganalytics-endpoint)")
        return self._cached(
            "logs", "", lambda: LogsQueryClient(self.credential, endpoint=endpoint, **self.pipeline_kwargs())
        )

    def _verify_challenge(self, vault_url: str) -> bool:
        """Check the challenge's resource against the vault's DNS name, except off the cloud's DNS.

        The SDK refuses a challenge whose resource is not a parent domain of the vault host; a
        vault reached by IP address or through a custom DNS name can never pass that check.
        """
        host = (urlsplit(vault_url).hostname or "").lower()
        suffixes = [s for s in (self.cloud.keyvault_dns_suffix, self.cloud.managedhsm_dns_suffix) if s]
        return any(host.endswith("." + s.lower()) for s in suffixes)
