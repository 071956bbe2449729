"""One vault or HSM host's reads: a direct path for answers that need no policy, and azure-core's
pipeline for everything else.

Nearly every data-plane read of a scan is an authorised GET answered at once. Through the full
pipeline (request object, retry policy, challenge policy, pacing policy, transport) such a read
cost about two thirds as much CPU again as the HTTP exchange itself, and a scan makes some
170,000 of them.
So a read first goes straight to the host's connection pool, with the pacer's slot and the
Authorization header the Key Vault challenge policy itself writes (its ``on_request``: token
refresh, resource verification and tenant as the SDK handles them; the header is reused for
:data:`HEADER_REUSE_SECONDS`). Only an answer that needs a
policy's judgement goes through the pipeline, which then owns the read from the start:

- no challenge known yet for the host (its first read, or after one was dropped): the policy
  elicits and verifies it;
- 401 (an expired or revoked token, a CAE claims challenge): the policy's challenge flow;
- a retryable status (throttling, 5xx) or a transport failure: the pipeline's retries, after
  honouring the answer's Retry-After here first.

Each attempt, direct or not, takes a slot of the shared pacer, so the per-vault and in-flight
limits count it. A read that ends in the pipeline has made one attempt more than the retry
budget alone, never fewer.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from azure.core.exceptions import ServiceRequestError, ServiceResponseError
from azure.core.pipeline import PipelineContext, PipelineRequest
from azure.core.pipeline.policies._utils import parse_retry_after
from azure.core.rest import HttpRequest

from kvaudit.scanner.azure.pacing import RETRY_STATUS, Pacer
from kvaudit.scanner.azure.transport import BufferedResponse, LeanAioHttpTransport

#: Answers the direct path hands back as they are: success, and failures no retry can change.
FINAL_STATUS = frozenset(range(200, 600)) - {401, *RETRY_STATUS}
#: The longest Retry-After honoured before the pipeline takes over (its own retries honour more).
MAX_RETRY_AFTER_SECONDS = 60.0
#: How long the challenge policy's header is reused before the policy is asked again. The policy
#: renews a token five minutes before it expires, so a header reused this long is still valid;
#: one the service refuses anyway (revoked, a CAE event) is a 401, which the pipeline answers.
HEADER_REUSE_SECONDS = 30.0


class DataPlaneClient:
    """Reads of one host. ``pipeline`` is the host's azure-core client, ``auth`` the challenge
    policy inside it, ``transport`` the pool both share and ``key`` the host's pacing key."""

    def __init__(
        self, pipeline: Any, auth: Any, transport: LeanAioHttpTransport, pacer: Pacer, key: str, user_agent: str
    ) -> None:
        self.pipeline = pipeline
        self.auth = auth
        self.transport = transport
        self.pacer = pacer
        self.key = key
        self.user_agent = user_agent
        self._headers: dict[str, str] | None = None
        self._headers_until = 0.0

    async def get(self, url: str) -> BufferedResponse:
        """The answer to ``GET url``: 200, or the final failure after the pipeline's retries."""
        headers = await self._direct_headers(url)
        if headers is not None:
            try:
                answer = await self.pacer.paced(self.key, lambda: self.transport.get(url, headers))
            except (ServiceRequestError, ServiceResponseError):
                answer = None  # the pipeline retries it against its connect and read budgets
            if answer is not None:
                if answer.status_code in FINAL_STATUS:
                    return answer
                if answer.status_code == 401:
                    self._headers = None  # ask the policy again once the pipeline has answered it
                await self._honour_retry_after(answer)
        return await self.pipeline.send_request(HttpRequest("GET", url))

    async def _direct_headers(self, url: str) -> dict[str, str] | None:
        """The headers of a direct read, with the Authorization the challenge policy would send;
        None while the policy has no challenge for the host (then the pipeline must elicit one).
        A challenge that fails verification raises, as it would in the pipeline."""
        now = time.monotonic()
        if self._headers is not None and now < self._headers_until:
            return self._headers
        request = PipelineRequest(HttpRequest("GET", url), PipelineContext(None))
        await self.auth.on_request(request)
        authorization = request.http_request.headers.get("Authorization")
        if authorization is None:
            return None
        self._headers = {"Authorization": authorization, "User-Agent": self.user_agent, "Accept": "application/json"}
        self._headers_until = now + HEADER_REUSE_SECONDS
        return self._headers

    @staticmethod
    async def _honour_retry_after(answer: BufferedResponse) -> None:
        value = answer.headers.get("Retry-After")
        if not value:
            return
        try:
            delay = parse_retry_after(value)
        except (ValueError, TypeError, OverflowError):
            return
        await asyncio.sleep(min(delay, MAX_RETRY_AFTER_SECONDS))

    async def close(self) -> None:
        await self.pipeline.close()
