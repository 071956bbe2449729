"""The expected inventory of the default fake estate, as canonical JSON, and its generator.

``default_estate_inventory.json`` holds every table of a clean live scan of
``build_estate.default(now)`` in a form that does not depend on the run: vault hosts (random local
ports) become ``<name>.fake``, timestamps become seconds relative to ``now``, rows are
sorted by id. It was written by the collector that called ``get_key`` for every version, so a
test can prove that a cheaper collector observes the same values for every column a rule reads.

Regenerate (only when the estate or the inventory model legitimately changes)::

    PYTHONPATH=$PWD python -m tests.azure.expected_inventory
"""

from __future__ import annotations

import json
import math
import re
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from kvaudit.scanner.inventory import TABLES, Inventory

EXPECTED = Path(__file__).with_name("default_estate_inventory.json")
_LOCAL_HOST = re.compile(r"127\.0\.0\.1:(\d+)")


def _value(value: Any, now: int, hosts: dict[str, str]) -> Any:
    if isinstance(value, datetime):
        return {"relative_s": round(value.timestamp() - now)}
    if isinstance(value, pd.Timestamp):
        return {"relative_s": round(value.timestamp() - now)}
    if isinstance(value, str):
        return _LOCAL_HOST.sub(lambda m: hosts.get(m.group(1), "other.fake"), value)
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _value(v, now, hosts) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_value(v, now, hosts) for v in value]
    if value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def canonical(inventory: Inventory, now: int, vault_ports: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """Every table as sorted rows of run-independent values; ``vault_ports`` maps port -> name."""
    hosts = {port: f"{name}.fake" for port, name in vault_ports.items()}
    out: dict[str, list[dict[str, Any]]] = {}
    for table in TABLES:
        df = inventory.tables[table].astype(object)
        records = df.where(pd.notna(df), None).to_dict(orient="records")
        rows = [{k: _value(v, now, hosts) for k, v in r.items()} for r in records]
        out[table] = sorted(rows, key=lambda r: json.dumps(r, sort_keys=True, default=str))
    return out


def vault_ports(fake: Any, estate: dict[str, Any]) -> dict[str, str]:
    """Local port -> vault or HSM name, for the fake serving ``estate``."""
    names = [
        r["name"]
        for r in estate["resources"]
        if r["type"].lower() in ("microsoft.keyvault/vaults", "microsoft.keyvault/managedhsms")
    ]
    return {fake.vault_uri(n).rstrip("/").rsplit(":", 1)[-1]: n for n in names}


def main() -> None:
    import pytest

    from tests.azure.conftest import scan
    from tests.fakeazure import FakeAzure, Faults, build_estate

    now = int(time.time())
    estate = build_estate.default(now)
    with FakeAzure(estate, faults=Faults()) as fake, pytest.MonkeyPatch.context() as mp:
        scanned = scan(fake, mp)
        doc = canonical(scanned.inventory, now, vault_ports(fake, estate))
    EXPECTED.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {EXPECTED}")


if __name__ == "__main__":
    main()
