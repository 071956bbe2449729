"""Look-ups over an estate that the request handlers need, built once when the fake starts.

The estate is plain data keyed the way an author writes it; handlers need case-insensitive ARM id
look-ups, the scope hierarchy (management group → subscription → resource group → resource) for
role-assignment inheritance, and the local port of each vault.  Public vault host names in the
estate are rewritten here to the local URIs the fake serves (see ``estate_parts``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_HOST_RE = re.compile(r"https://([a-z0-9-]+)\.(vault\.azure\.net|managedhsm\.azure\.net)(?::443)?", re.I)


@dataclass
class Owner:
    """A vault or managed HSM and its data-plane endpoint."""

    name: str
    arm_id: str
    is_hsm: bool
    port: int
    body: dict[str, Any]

    @property
    def uri(self) -> str:
        return f"https://127.0.0.1:{self.port}/"

    @property
    def subscription(self) -> str:
        return self.arm_id.split("/")[2].lower()


@dataclass
class EstateIndex:
    """Case-insensitive views of one estate for a running fake."""

    estate: dict[str, Any]
    ports: dict[str, int]  # owner name (lower) -> local port
    resources: list[dict[str, Any]] = field(init=False)
    by_id: dict[str, dict[str, Any]] = field(init=False)
    owners_by_port: dict[int, Owner] = field(init=False)
    owners_by_name: dict[str, Owner] = field(init=False)
    mg_parent: dict[str, str] = field(init=False)
    sub_mg: dict[str, str] = field(init=False)
    log_tables: dict[str, dict[str, list[dict[str, Any]]]] = field(init=False)

    def __post_init__(self) -> None:
        rewritten = self._rewrite_hosts(
            {"resources": self.estate["resources"], "logAnalytics": self.estate.get("logAnalytics", {})}
        )
        self.resources = rewritten["resources"]
        self.log_tables = {k.lower(): v for k, v in rewritten["logAnalytics"].items()}
        self.by_id = {r["id"].lower(): r for r in self.resources}
        self.owners_by_port, self.owners_by_name = {}, {}
        for body in self.resources:
            rtype = body["type"].lower()
            if rtype in ("microsoft.keyvault/vaults", "microsoft.keyvault/managedhsms"):
                owner = Owner(
                    body["name"], body["id"], rtype.endswith("managedhsms"), self.ports[body["name"].lower()], body
                )
                self.owners_by_port[owner.port] = owner
                self.owners_by_name[owner.name.lower()] = owner
        self.mg_parent, self.sub_mg = {}, {}
        for mg in self.estate.get("managementGroups", []):
            self.mg_parent[mg["name"].lower()] = (mg.get("parent") or self.tenant).lower()
            for sub in mg.get("subscriptions", []):
                self.sub_mg[sub.lower()] = mg["name"].lower()

    @property
    def tenant(self) -> str:
        return str(self.estate["tenantId"])

    def _rewrite_hosts(self, data: dict[str, Any]) -> dict[str, Any]:
        """Replace public vault/HSM hosts of served owners by their local ``https://127.0.0.1:port``."""

        def repl(match: re.Match[str]) -> str:
            port = self.ports.get(match.group(1).lower())
            return f"https://127.0.0.1:{port}" if port else match.group(0)

        return json.loads(_HOST_RE.sub(repl, json.dumps(data)))

    # -- ownership and hierarchy --------------------------------------------------------------

    def keys_of(self, owner: Owner) -> list[dict[str, Any]]:
        keys: Mapping[str, list[dict[str, Any]]] = self.estate.get("keys") or {}
        return keys.get(owner.arm_id.lower(), [])

    def subscriptions(self) -> list[dict[str, Any]]:
        return list(self.estate.get("subscriptions", []))

    def subscription_ids(self) -> set[str]:
        return {s["subscriptionId"].lower() for s in self.subscriptions()}

    def subs_under_mg(self, mg: str) -> set[str]:
        """Subscriptions in a management group or any of its descendants (the tenant root holds all)."""
        mg = mg.lower()
        if mg == self.tenant.lower():
            return self.subscription_ids()
        out = set()
        for sub, parent in self.sub_mg.items():
            chain = self._mg_chain(parent)
            if mg in chain:
                out.add(sub)
        return out

    def _mg_chain(self, mg: str) -> list[str]:
        chain, seen = [mg], {mg}
        while chain[-1] in self.mg_parent and self.mg_parent[chain[-1]] not in seen:
            chain.append(self.mg_parent[chain[-1]])
            seen.add(chain[-1])
        return chain

    def ancestors(self, scope: str) -> list[str]:
        """Every scope at or above ``scope`` (lower-cased), nearest first, ending with ``/``."""
        scope = scope.rstrip("/").lower() or "/"
        if scope == "/":
            return ["/"]
        parts = scope.split("/")
        out: list[str] = []
        if parts[1] == "subscriptions" and len(parts) >= 3:
            # resource ids: every (type, name) step after the provider namespace is a scope
            ends = list(range(len(parts), 8, -2)) if len(parts) > 8 and parts[5] == "providers" else [len(parts)]
            out += ["/".join(parts[:end]) for end in ends]
            if len(parts) >= 5 and parts[3] == "resourcegroups":
                out.append("/".join(parts[:5]))
            out.append("/".join(parts[:3]))
            mg = self.sub_mg.get(parts[2])
            chain = self._mg_chain(mg) if mg else [self.tenant.lower()]
        elif scope.startswith("/providers/microsoft.management/managementgroups/"):
            chain = self._mg_chain(parts[4])
        else:
            chain = []
        out += [f"/providers/microsoft.management/managementgroups/{m}" for m in chain]
        out.append("/")
        return list(dict.fromkeys(out))

    def is_at_or_below(self, scope: str, ancestor: str) -> bool:
        return ancestor.rstrip("/").lower() in self.ancestors(scope) or ancestor == "/"
