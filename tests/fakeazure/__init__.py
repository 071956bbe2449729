"""A local HTTPS fake of the Azure services kvaudit reads (see README.md in this directory).

Public interface::

    from tests.fakeazure import FakeAzure, Faults, build_estate
    with FakeAzure(build_estate.default(), faults=Faults(...)) as fake:
        fake.arm_endpoint, fake.ca_bundle, fake.env(), fake.vault_uri("kv-prod-apps"), fake.requests
"""

from tests.fakeazure import build_estate
from tests.fakeazure.faults import Delay, Faults, RateLimit, ServerError, Throttle
from tests.fakeazure.server import FakeAzure, RecordedRequest

__all__ = ["Delay", "FakeAzure", "Faults", "RateLimit", "RecordedRequest", "ServerError", "Throttle", "build_estate"]
