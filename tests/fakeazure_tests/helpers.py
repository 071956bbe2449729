"""Small helpers the self-tests share (kept out of conftest so they can be imported)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

from azure.core.credentials import AccessToken

from tests.fakeazure import FakeAzure


class StaticCredential:
    """A credential holding one token the fake issued: for tests about the service, not identity."""

    def __init__(self, fake: FakeAzure, resource: str) -> None:
        self.token = fake.issue_token(resource)

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        return AccessToken(self.token, 2**31)


@contextmanager
def environment_of(fake: FakeAzure) -> Iterator[dict[str, str]]:
    """Point azure-identity at ``fake`` for the duration of the block."""
    with mock.patch.dict(os.environ, fake.env()):
        yield fake.env()


def key_client(fake: FakeAzure, name: str, credential: object, **kwargs: object):
    from azure.keyvault.keys import KeyClient

    return KeyClient(
        fake.vault_uri(name), credential, verify_challenge_resource=False, connection_verify=fake.ca_bundle, **kwargs
    )


def raw_get(fake: FakeAzure, url: str, token: str | None) -> tuple[int, dict[str, str], bytes]:
    """One GET with no SDK in the way: (status, headers, body), errors included."""
    import ssl
    import urllib.error
    import urllib.request

    context = ssl.create_default_context(cafile=fake.ca_bundle)
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()
