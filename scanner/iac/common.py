"""Helpers shared by every IaC source (ARM, Bicep, Terraform).

IaC has no live ARM ids, no resolved key URIs and no portal, so each IaC loader has to make the
same three guesses the same way: what id a vault *would* have, which vault and key a key URI
names, and whether a comment next to a resource suppresses a rule. Doing it once here is what
makes the same misconfiguration produce identical inventory rows whatever the IaC language.
This module is a stable API: the Terraform loader imports it too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from kvaudit.scanner.reference import builtin_role, kind_for_host

#: Placeholder for a subscription or resource group the IaC does not fix.
UNKNOWN_SCOPE = "iac"


def synth_vault_id(name: str, kind: str, subscription: str | None = None, resource_group: str | None = None) -> str:
    """The lower-cased ARM id a vault or managed HSM declared in IaC will have once deployed.

    ``kind`` is ``vault`` or ``managed_hsm``. Unknown subscription or resource group become
    ``iac`` so that every IaC source synthesises the same id for the same vault, and keys,
    role assignments and consumers in the same unit can join to it. The loaders then put the
    unit into every such placeholder id (:mod:`scanner.iac.identity`), so the same name in two
    units is two vaults.
    """
    provider = "managedhsms" if kind == "managed_hsm" else "vaults"
    sub = subscription or UNKNOWN_SCOPE
    rg = resource_group or UNKNOWN_SCOPE
    return f"/subscriptions/{sub}/resourcegroups/{rg}/providers/microsoft.keyvault/{provider}/{name}".lower()


def synth_key_id(vault_id: str, key_name: str) -> str:
    """Key id convention of the inventory: ``<vault id>/keys/<name>``, lower case."""
    return f"{vault_id.rstrip('/')}/keys/{key_name}".lower()


@dataclass(frozen=True)
class KeyUri:
    """The parts of a data-plane key URI such as ``https://v.vault.azure.net/keys/k/0123``."""

    host: str  # lower case, no port
    vault_name: str  # first DNS label
    kind: str  # vault | managed_hsm | unknown
    key_name: str
    version: str | None  # None when the URI does not pin a version

    @property
    def pinned(self) -> bool:
        return self.version is not None


def parse_key_uri(uri: str) -> KeyUri | None:
    """Split a key URI into host, vault, key name and version; None if it is not a key URI.

    Accepts ``https://<vault>.<suffix>[:443]/keys/<name>[/<version>][/]``. Anything else
    (a secret URI, a relative path, an unresolved expression) returns None so callers record
    the reference as unresolved instead of guessing.
    """
    if not isinstance(uri, str) or not uri:
        return None
    try:
        parts = urlsplit(uri.strip())
    except ValueError:
        return None
    if parts.scheme.lower() != "https" or not parts.hostname:
        return None
    segments = [s for s in parts.path.split("/") if s]
    if len(segments) not in (2, 3) or segments[0].lower() != "keys":
        return None
    host = parts.hostname.lower()
    version = segments[2] if len(segments) == 3 else None
    return KeyUri(
        host=host,
        vault_name=host.split(".", 1)[0],
        kind=kind_for_host(host),
        key_name=segments[1],
        version=version,
    )


_SUPPRESSION = re.compile(r"kvaudit:ignore(?:\s+(?P<rule>[A-Za-z0-9*][A-Za-z0-9_.*-]*))?(?P<reason>.*)", re.S)


def parse_suppression_comment(text: str) -> tuple[str, str | None] | None:
    """``kvaudit:ignore KV-NET-001 reason text`` -> ``("KV-NET-001", "reason text")``.

    ``text`` may still carry its comment marker (``//``, ``#``, ``/* */``). A missing reason
    gives ``None`` (recorded but not honoured, per the inventory contract); a missing rule id
    means no suppression, because a bare ``kvaudit:ignore`` silencing everything is too easy to
    write by accident. Separators like ``--`` or ``:`` before the reason are dropped.
    """
    if not isinstance(text, str):
        return None
    body = text.strip()
    body = re.sub(r"^(//+|#+|/\*+)\s*", "", body)
    body = re.sub(r"\s*\*+/$", "", body)
    match = _SUPPRESSION.match(body.strip())
    if not match or not match.group("rule"):
        return None
    reason = match.group("reason").strip().lstrip(":-–—").strip()
    return match.group("rule"), (reason or None)


def initial_administrator(vault_id: str, principal: str | None, label: str) -> dict[str, object]:
    """The role assignment an HSM's initial administrator gets (ARM ``initialAdminObjectIds``,
    azurerm ``admin_object_ids``): Managed HSM Administrator at ``/``, once the HSM is activated.
    ``label`` names the row when the principal is not known (an unresolved expression); such a
    row names ``principal_id`` in ``unresolved``, so that it reads as "an administrator we could
    not identify", never as "no administrator"."""
    administrator = builtin_role("Managed HSM Administrator")
    if administrator is None:  # the reference module always holds it
        raise LookupError("Managed HSM Administrator is not a known built-in role")
    return {
        "id": f"{vault_id}/roleassignments/initial-admin-{label}".lower(),
        "plane": "managed_hsm",
        "name": None,
        "vault_id": vault_id,
        "scope": "/",
        "principal_id": principal,
        "principal_type": None,
        "role_definition_id": administrator.id,
        "role_name": administrator.name,
        "unresolved": [] if principal is not None else ["principal_id"],
    }


#: Label of the row that stands for an administrator list that could not be evaluated.
UNKNOWN_ADMINISTRATORS = "{unknown-list}"


def initial_administrators(
    vault_id: str,
    admins: object,
    *,
    principal: Callable[[object], str | None],
    label: Callable[[object, int], str | None],
    absent: Callable[[object], bool],
) -> list[dict[str, object]]:
    """The rows for an HSM's whole initial administrator list, the same way for every format.

    A list gives one row per element (an element that cannot be evaluated is an administrator
    of unknown identity). A list that is itself unknown (``var.admins`` with no value, ARM
    ``[parameters('admins')]`` with none given) gives one row of unknown principal. Without it
    the HSM would have no administrator rows at all and the rules would count too few
    administrators: the row is how the inventory says "this HSM has administrators we cannot
    list", and rules already treat an administrator of unknown principal as unknown.
    ``absent`` tells the format's "not declared" (no rows: nothing is granted) from an unknown.
    """
    if absent(admins):
        return []
    if isinstance(admins, list | tuple):
        rows = []
        for index, admin in enumerate(admins):
            who = principal(admin)
            rows.append(initial_administrator(vault_id, who, who or label(admin, index) or f"{{unknown-{index}}}"))
        return rows
    return [initial_administrator(vault_id, None, UNKNOWN_ADMINISTRATORS)]


@dataclass(frozen=True)
class CallSite:
    """The call in the scanned root that brought a module's resources into the deployment.

    ``path`` names the chain of module calls down to the resource's module (Terraform's
    ``module.kv.module.keys["cmk"]``, Bicep's symbolic names ``kv.keys``); ``file`` and ``line``
    are the outermost call, in the file the scan was pointed at, because a finding there is one
    the root's author can act on (a different input, a different module version), whereas the
    module's own file may be vendored or shared by many callers.
    """

    path: str
    file: str | None
    line: int | None

    def into(self, name: str) -> CallSite:
        """The call site of a module called from inside this one: same outermost call."""
        return CallSite(f"{self.path}.{name}", self.file, self.line)


def location_columns(file: str | None, line: int | None, call: CallSite | None) -> dict[str, object]:
    """The location provenance of a row declared at ``file``:``line``, through ``call`` if any.

    A row in the root keeps its own file and line and has no module columns, so reports of
    configurations without modules do not change.
    """
    if call is None:
        return {"file": file, "line": line, "module": None, "declared_file": None, "declared_line": None}
    return {"file": call.file, "line": call.line, "module": call.path, "declared_file": file, "declared_line": line}
