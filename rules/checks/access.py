"""Access: who can use which keys. Over-broad role scopes turn one compromised identity into
access to every key in an HSM."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from kvaudit.rules.checks.common import (
    DECRYPTING,
    azure_scope_level,
    beyond,
    effective_for,
    grant_reach,
    grant_targets,
    has_any,
    key_op_sets,
    lower_sets,
    near_vaults,
    nullable,
    permission_operations,
    profile_field,
    reach_any,
    role_operations,
)
from kvaudit.rules.context import RuleContext, verdict
from kvaudit.rules.model import Param, Remediation
from kvaudit.rules.registry import rule
from kvaudit.scanner.inventory import LOCATION_COLUMNS
from kvaudit.scanner.lazy import lazy
from kvaudit.scanner.reference import AZURE_PLANE, BUILTIN_ROLES, builtin_role

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
else:
    np = lazy("numpy")
    pd = lazy("pandas")


def _guid(name: str) -> str:
    """A built-in role's definition GUID, from the one reference table of roles."""
    role = builtin_role(name)
    if role is None:  # a programming error: the reference module names every built-in used here
        raise LookupError(f"no built-in role named {name!r}")
    return role.guid


#: Managed HSM local built-in role definition GUIDs.
HSM_CRYPTO_USER = _guid("Managed HSM Crypto User")
HSM_CRYPTO_OFFICER = _guid("Managed HSM Crypto Officer")
HSM_ADMINISTRATOR = _guid("Managed HSM Administrator")


def normalise_hsm_scope(scope: pd.Series) -> pd.Series:
    """ "/Keys/" and "/keys" are the same scope; keep "/" as the root."""
    lowered = scope.str.strip().str.lower().str.rstrip("/")
    return lowered.mask(lowered.eq("").fillna(False), "/")


def hsm_role_is(ra: pd.DataFrame, guid: str, name: str) -> pd.Series:
    """Match a local role by definition GUID or by name, since IaC often only has one."""
    by_id = ra["role_definition_id"].str.lower().str.endswith(guid).fillna(False)
    by_name = ra["role_name"].str.lower().eq(name.lower()).fillna(False)
    return (by_id | by_name).astype(bool)


@rule(
    id="KV-ACC-001",
    title="Managed HSM Crypto User or Crypto Officer assigned at / or /keys",
    severity="high",
    domain="access",
    resource_type="role_assignment",
    rationale="""A Crypto User or Crypto Officer assignment at the HSM root or at /keys applies to every key in
    the HSM, present and future; least privilege scopes it to /keys/<name>. A dedicated single-workload HSM
    can be declared in the policy.""",
    remediation=Remediation(
        cli=(
            "az keyvault role assignment delete --hsm-name <hsm> --assignee <principal> --scope /keys && "
            "az keyvault role assignment create --hsm-name <hsm> --role 'Managed HSM Crypto User' "
            "--assignee <principal> --scope /keys/<key-name>"
        ),
        arm_bicep="Managed HSM local RBAC is data plane: assign with the CLI or Terraform, scope /keys/<key-name>",
        terraform='scope = "/keys/<key-name>"  # azurerm_key_vault_managed_hardware_security_module_role_assignment',
    ),
    references=("https://learn.microsoft.com/azure/key-vault/managed-hsm/access-control",),
    messages={
        "FAIL": "{role_name} for {principal_id} is scoped to {scope}, covering every key in the HSM",
        "PASS": "{role_name} for {principal_id} is scoped to {scope}",
        "NOT_APPLICABLE": "{role_name} is not a key-use role",
    },
)
def hsm_role_over_broad(ctx: RuleContext) -> pd.DataFrame:
    ra = ctx.role_assignments
    ra = ra[ra["plane"] == "managed_hsm"].copy()
    scope = normalise_hsm_scope(ra["scope"])
    key_role = hsm_role_is(ra, HSM_CRYPTO_USER, "Managed HSM Crypto User") | hsm_role_is(
        ra, HSM_CRYPTO_OFFICER, "Managed HSM Crypto Officer"
    )
    hsm_names = ra["vault_id"].str.rsplit("/", n=1).str[-1].str.lower()
    dedicated = hsm_names.isin(ctx.policy.dedicated_hsms if ctx.policy else [])
    broad = scope.isin(["/", "/keys"]).astype("boolean").where(scope.notna(), pd.NA)
    fail = (broad & ~dedicated).astype("boolean")
    return verdict(
        ra,
        fail=fail,
        applicable=key_role,
        evidence=["role_name", "scope", "principal_id", "principal_type"],
        extra={"hsm_dedicated": dedicated},
        resource_name=hsm_names.fillna("?") + ":" + ra["scope"].fillna("?") + ":" + ra["name"].fillna("?"),
        resource_type="Microsoft.KeyVault/managedHSMs/roleAssignments",
    )


REFS_HSM_RBAC = (
    "https://learn.microsoft.com/azure/key-vault/managed-hsm/built-in-roles",
    "https://learn.microsoft.com/azure/key-vault/managed-hsm/secure-your-managed-hsm",
)
REFS_KV_RBAC = (
    "https://learn.microsoft.com/azure/key-vault/general/rbac-guide",
    "https://learn.microsoft.com/azure/key-vault/general/security-features",
)

#: Azure RBAC roles that reach into vaults when assigned above them: every built-in Key Vault
#: role, and Owner and Contributor.
KEY_VAULT_ROLE_GUIDS = {
    role.guid
    for role in BUILTIN_ROLES.values()
    if role.plane == AZURE_PLANE and (role.name.startswith("Key Vault ") or role.name in ("Owner", "Contributor"))
}
KV_CRYPTO_OFFICER = _guid("Key Vault Crypto Officer")
KV_ADMINISTRATOR = _guid("Key Vault Administrator")


def role_guid(ra: pd.DataFrame) -> pd.Series:
    return (
        ra["role_definition_id"]
        .str.lower()
        .str.extract(r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")[0]
    )


def role_display(ra: pd.DataFrame, ctx: RuleContext | None = None) -> pd.Series:
    """A readable name for a role assignment in findings: HSM:scope:name or role@scope.

    With ``ctx`` the names of the whole table are computed once per scan and subset."""
    if ctx is not None:
        full = ctx._shared("role_display", lambda: role_display(ctx.role_assignments))
        return full.loc[ra.index]
    hsm = ra["vault_id"].str.rsplit("/", n=1).str[-1].fillna("?")
    local = hsm + ":" + ra["scope"].fillna("?") + ":" + ra["name"].fillna("?")
    azure = ra["role_name"].fillna("?") + "@" + ra["scope"].fillna("?")
    return local.where(ra["plane"].eq("managed_hsm").fillna(False).to_numpy(), azure)


def role_types(ra: pd.DataFrame, ctx: RuleContext | None = None) -> pd.Series:
    if ctx is not None:
        return ctx._shared("role_types", lambda: role_types(ctx.role_assignments)).loc[ra.index]
    return pd.Series(
        [
            "Microsoft.KeyVault/managedHSMs/roleAssignments"
            if p == "managed_hsm"
            else "Microsoft.Authorization/roleAssignments"
            for p in ra["plane"]
        ],
        index=ra.index,
        dtype="object",
    )


def is_officer(ra: pd.DataFrame) -> pd.Series:
    """Crypto Officer on either plane (Managed HSM local role or Key Vault RBAC role)."""
    local = hsm_role_is(ra, HSM_CRYPTO_OFFICER, "Managed HSM Crypto Officer") & ra["plane"].eq("managed_hsm").fillna(
        False
    )
    azure = role_guid(ra).eq(KV_CRYPTO_OFFICER).fillna(False) | ra["role_name"].str.lower().eq(
        "key vault crypto officer"
    ).fillna(False)
    return (local | azure).astype(bool)


@rule(
    id="KV-ACC-002",
    title="Managed HSM has more Administrators than the policy allows",
    severity="medium",
    domain="access",
    resource_type="vault",
    params=(Param("max_hsm_administrators", 3, "Most principals that may hold Managed HSM Administrator on one HSM"),),
    rationale="""Managed HSM Administrators can grant themselves any role on any key. Every extra administrator
    is another account whose compromise exposes the whole HSM; keep the group tiny, behind PIM.""",
    remediation=Remediation(
        cli="az keyvault role assignment delete --hsm-name <hsm> --role 'Managed HSM Administrator' --assignee <principal> --scope /",
        arm_bicep="Managed HSM local RBAC is data plane: remove administrators with the CLI; keep initialAdminObjectIds short",
        terraform="Remove azurerm_key_vault_managed_hardware_security_module_role_assignment resources for extra administrators",
    ),
    references=REFS_HSM_RBAC,
    messages={
        "FAIL": "{resource_name} has {administrators} Administrators ({administrator_principals}), more than {max_hsm_administrators}",
        "PASS": "{resource_name} has {administrators} Administrators",
        "NOT_APPLICABLE": "{resource_name} is not a Managed HSM",
    },
)
def too_many_hsm_admins(ctx: RuleContext) -> pd.DataFrame:
    v = ctx.vaults
    limit = int(ctx.params["max_hsm_administrators"])
    ra = ctx.role_assignments
    admins = ra[
        (
            ra["plane"].eq("managed_hsm").fillna(False)
            & hsm_role_is(ra, HSM_ADMINISTRATOR, "Managed HSM Administrator")
        ).to_numpy(dtype=bool)
    ]
    principals = (
        admins["principal_id"]
        .str.lower()
        .groupby(admins["vault_id"].str.lower())
        .agg(lambda s: sorted(set(s.dropna())))
    )
    ids = v["id"].str.lower()
    listed = ids.map(principals).apply(lambda x: x if isinstance(x, list) else [])
    count = listed.map(len).astype("Int64")
    # A local assignment whose role or principal was not observed may be one more administrator.
    local = ra[ra["plane"].eq("managed_hsm").fillna(False).to_numpy(dtype=bool)]
    unread = (local["role_name"].isna() & local["role_definition_id"].isna()) | (
        hsm_role_is(local, HSM_ADMINISTRATOR, "Managed HSM Administrator") & local["principal_id"].isna()
    )
    doubtful = ids.isin(set(local.loc[unread.to_numpy(dtype=bool), "vault_id"].str.lower().dropna()))
    fail = (count > limit).astype("boolean")
    fail = fail.where(fail.fillna(False).to_numpy(dtype=bool) | ~doubtful.to_numpy(), pd.NA)
    return verdict(
        v,
        fail=fail,
        applicable=v["kind"].eq("managed_hsm").fillna(False),
        evidence=[],
        extra={
            "administrators": count,
            "administrator_principals": listed,
            "max_hsm_administrators": pd.Series(limit, index=v.index),
        },
        resource_type=ctx.vault_types,
    )


@rule(
    id="KV-ACC-003",
    title="One principal is both Managed HSM Administrator and Crypto Officer",
    severity="high",
    domain="access",
    resource_type="role_assignment",
    rationale="""Separation of duties: Administrators manage who may act, Crypto Officers manage keys. One
    identity holding both can create, export or purge keys and hide it by rewriting the role assignments.""",
    remediation=Remediation(
        cli="az keyvault role assignment delete --hsm-name <hsm> --role 'Managed HSM Crypto Officer' --assignee <principal>",
        arm_bicep="Managed HSM local RBAC is data plane: remove the Crypto Officer assignment with the CLI",
        terraform="Remove the azurerm_key_vault_managed_hardware_security_module_role_assignment granting Crypto Officer",
    ),
    references=REFS_HSM_RBAC,
    messages={
        "FAIL": "{principal_id} holds Crypto Officer ({scope}) and Administrator on the same HSM",
        "PASS": "{principal_id} holds Crypto Officer ({scope}) but not Administrator",
        "NOT_APPLICABLE": "{role_name} is not Crypto Officer",
    },
)
def admin_and_officer(ctx: RuleContext) -> pd.DataFrame:
    ra = ctx.role_assignments
    ra = ra[ra["plane"].eq("managed_hsm").fillna(False).to_numpy(dtype=bool)]
    pair = ra["vault_id"].str.lower() + "|" + ra["principal_id"].str.lower()
    is_admin = hsm_role_is(ra, HSM_ADMINISTRATOR, "Managed HSM Administrator")
    admin_pairs = set(pair[is_admin.to_numpy()].dropna())
    fail = pair.isin(admin_pairs).astype("boolean").where(pair.notna(), pd.NA)
    # An administrator whose principal was not read (an admin list that could not be evaluated)
    # may be this Crypto Officer, and so may an assignment whose role was not read.
    unread_role = (ra["role_name"].isna() & ra["role_definition_id"].isna()).to_numpy(dtype=bool)
    doubtful = ra["principal_id"].isna().to_numpy(dtype=bool) & (is_admin.to_numpy(dtype=bool) | unread_role)
    doubtful_vaults = set(ra.loc[doubtful, "vault_id"].str.lower().dropna())
    in_doubt = ra["vault_id"].str.lower().isin(doubtful_vaults).fillna(False).to_numpy(dtype=bool)
    fail = fail.where(fail.fillna(False).to_numpy(dtype=bool) | ~in_doubt, pd.NA)
    return verdict(
        ra,
        fail=fail,
        applicable=hsm_role_is(ra, HSM_CRYPTO_OFFICER, "Managed HSM Crypto Officer"),
        evidence=["role_name", "scope", "principal_id", "principal_type"],
        resource_name=role_display(ra, ctx),
        resource_type="Microsoft.KeyVault/managedHSMs/roleAssignments",
    )


def _grants(ctx: RuleContext, keep_roles: pd.Series, keep_policies: pd.Series) -> pd.DataFrame:
    """Role assignments and access policies in one frame, with the key operations each grants
    and the id/level it applies at, so that access rules treat both models alike."""
    ra = ctx.role_assignments[keep_roles.to_numpy(dtype=bool)]
    ap = ctx.access_policies[keep_policies.to_numpy(dtype=bool)]
    roles = pd.DataFrame(
        {
            "id": ra["id"],
            "kind": ra["plane"].map(lambda p: "managed_hsm" if p == "managed_hsm" else "azure"),
            "name": role_display(ra, ctx),
            "resource_type": role_types(ra, ctx),
            "vault_id": ra["vault_id"].str.lower(),
            "principal_id": ra["principal_id"].str.lower(),
            "grant": ra["role_name"].astype("object"),
            "scope": ra["scope"].astype("object"),
            "operations": role_operations(ra),
            **{column: ra[column] for column in LOCATION_COLUMNS},
            "source": ra["source"],
        }
    )
    roles = pd.concat([roles, grant_targets(ctx, ra, "role")], axis=1)
    policies = pd.DataFrame(
        {
            "id": ap["id"],
            "kind": "policy",
            "name": ap["vault_id"].str.rsplit("/", n=1).str[-1].fillna("?")
            + ":access-policy:"
            + ap["object_id"].fillna("?"),
            "resource_type": "Microsoft.KeyVault/vaults/accessPolicies",
            "vault_id": ap["vault_id"].str.lower(),
            "principal_id": ap["object_id"].str.lower(),
            "grant": ap["key_permissions"].map(
                lambda p: "key permissions " + ", ".join(map(str, p)) if isinstance(p, list) else None
            ),
            "scope": ap["vault_id"].astype("object"),
            "operations": permission_operations(ap["key_permissions"]),
            **{column: ap[column] for column in LOCATION_COLUMNS},
            "source": ap["source"],
        }
    )
    policies = pd.concat([policies, grant_targets(ctx, ap, "policy")], axis=1)
    frames = [f for f in (roles, policies) if len(f)]
    if not frames:
        return roles.iloc[0:0]
    return pd.concat(frames, ignore_index=True)


def _reach(ctx: RuleContext, grants: pd.DataFrame, key_values: pd.Series) -> pd.Series:
    """Does each grant reach a key with ``key_values`` True, counting only keys where the grant's
    permission model takes effect?"""
    out = pd.Series(False, index=grants.index, dtype="boolean")
    for kind in ("azure", "managed_hsm", "policy"):
        rows = grants["kind"].eq(kind).to_numpy(dtype=bool)
        if rows.any():
            effective = effective_for(ctx, key_values, kind)
            out[rows] = reach_any(ctx, grants[rows], effective).to_numpy()
    return out


def _grant_verdict(grants: pd.DataFrame, **kwargs: object) -> pd.DataFrame:
    return verdict(
        grants,
        resource_name=grants["name"],
        resource_type=grants["resource_type"],
        reach=grant_reach(grants),
        evidence=["principal_id", "grant", "scope"],
        **kwargs,  # type: ignore[arg-type]
    )


@rule(
    id="KV-ACC-004",
    title="Identity that only signs can also decrypt or unwrap keys",
    severity="high",
    domain="access",
    resource_type="role_assignment",
    rationale="""Signing identities (build agents, control planes, transaction signers) are the most exposed:
    they run in CI and in production. If their role or access policy also allows decrypt or unwrapKey on a key
    that permits it, a stolen pipeline token becomes a way to unwrap data-encryption keys.""",
    remediation=Remediation(
        cli=(
            "az keyvault role assignment delete --hsm-name <hsm> --assignee <principal> --scope <scope> && "
            "az keyvault role assignment create --hsm-name <hsm> --role <custom sign-only role> "
            "--assignee <principal> --scope /keys/<signing-key>"
        ),
        arm_bicep="Assign a custom role whose dataActions are keys/read and keys/sign/action only, at the signing key's scope",
        terraform='key_permissions = ["Get", "List", "Sign", "Verify"]  # or a sign-only role at the key scope',
    ),
    references=REFS_HSM_RBAC + REFS_KV_RBAC,
    messages={
        "FAIL": "signer {principal_id} can decrypt or unwrap through {grant} at {scope}",
        "PASS": "signer {principal_id}'s {grant} at {scope} reaches no key it could decrypt or unwrap",
        "NOT_APPLICABLE": "{principal_id} is not a signing identity",
    },
)
def signer_can_decrypt(ctx: RuleContext) -> pd.DataFrame:
    signers = _signers(ctx)
    ra, ap = ctx.role_assignments, ctx.access_policies
    possible = signers.known | signers.possible
    unknown_holder = signers.any
    grants = _grants(
        ctx,
        ra["principal_id"].str.lower().isin(possible).fillna(False) | (ra["principal_id"].isna() & unknown_holder),
        ap["object_id"].str.lower().isin(possible).fillna(False) | (ap["object_id"].isna() & unknown_holder),
    )
    if grants.empty:
        return grants.assign(status=[])
    can = has_any(grants["operations"], DECRYPTING)
    view = ctx.key_view
    key_ops = key_op_sets(ctx)
    key_decrypts = nullable((None if o is None else bool(o & DECRYPTING) for o in key_ops), view.index)
    fail = can & _reach(ctx, grants, key_decrypts)
    principal = grants["principal_id"]
    by_grant = grants["id"].str.lower().isin(signers.signing_grants).to_numpy(dtype=bool)
    why = principal.map(signers.why).astype("object")
    why[by_grant & why.isna().to_numpy()] = "holds sign on a signing key"
    known = why.notna().to_numpy()
    is_signer = pd.Series(np.where(known, True, pd.NA), index=grants.index, dtype="boolean")
    # A grant whose holder may or may not sign (its principal or its signing role is unknown)
    # matters only where it could decrypt: elsewhere it has no finding whichever it is.
    keep = known | fail.isna().to_numpy() | fail.fillna(False).to_numpy(dtype=bool)
    rows = grants[keep]
    return _grant_verdict(
        rows,
        fail=fail[keep],
        applicable=is_signer[keep],
        extra={
            "operations": rows["operations"].map(lambda s: sorted(s) if s is not None else None),
            "signer_because": why[keep],
        },
    )


@dataclass(frozen=True)
class _Signers:
    """Who signs with signing keys: ``why`` maps each known signer to the reason it is one;
    ``possible`` are principals that may sign (through a grant whose operations or reach are
    unknown); ``signing_grants`` are grant ids that themselves sign with a signing key, whoever
    holds them; ``any`` says whether anyone at all may be a signer."""

    why: dict[str, str]
    possible: frozenset[str]
    signing_grants: frozenset[str]
    any: bool

    @property
    def known(self) -> frozenset[str]:
        return frozenset(self.why)


def ci_principal_ids(ctx: RuleContext) -> frozenset[str]:
    """The CI/CD identities the policy lists (``[rules.KV-ACC-009] ci_principal_ids``).

    One parameter names them for every rule that asks, so that a policy lists its pipelines once."""
    from kvaudit.rules.registry import get

    ci_rule = get("KV-ACC-009")
    defaults = {param.name: param.default for param in ci_rule.params}
    params = ctx.policy.params_for(ci_rule.id, defaults) if ctx.policy is not None else defaults
    return frozenset(str(p).lower() for p in params["ci_principal_ids"])


def _signers(ctx: RuleContext) -> _Signers:
    """Signing identities, from three sources: consumers that use a key to sign (their
    principal), the CI identities the policy lists, and holders of a grant that allows sign on a
    key whose profile is a signer's (at the key, or at a vault, ``/`` or ``/keys`` scope that
    reaches it; not above the vault). IaC rarely names a consumer's principal, so the grants are what make signers
    visible there."""
    refs = ctx.key_references
    view = ctx.key_view
    signer_key = profile_field(ctx, view["profile"], "signer").eq(True)
    signer_keys = set(view.loc[signer_key.to_numpy(), "id"].str.lower())
    signing_refs = refs["purpose"].str.lower().eq("sign").fillna(False) | refs["key_id"].str.lower().isin(signer_keys)
    why: dict[str, str] = {}
    for principal in refs.loc[signing_refs.to_numpy(dtype=bool), "principal_id"].str.lower().dropna():
        why.setdefault(principal, "uses a signing key")
    for principal in ci_principal_ids(ctx):
        why.setdefault(principal, "is a CI identity of the policy")
    possible: set[str] = set()
    signing_grants: set[str] = set()
    signer_vaults = set(view.loc[signer_key.to_numpy(), "vault_id"].dropna())
    if signer_vaults:
        ap = ctx.access_policies
        grants = _grants(ctx, near_vaults(ctx, signer_vaults), ap["vault_id"].isin(signer_vaults).fillna(False))
        if len(grants):
            on_signer_key = pd.Series(signer_key.to_numpy(), index=ctx.keys.index, dtype="boolean")
            # Only grants at the key or its vault (an HSM's "/" or "/keys") make a signer: a role
            # above the vault is an administrator's, judged by KV-ACC-005, not a workload's.
            near = grants["level"].isin(["key", "vault"]).to_numpy(dtype=bool)
            signs = has_any(grants["operations"], _SIGNING) & _reach(ctx, grants, on_signer_key) & near
            principals = grants["principal_id"]
            for principal, grant_id, value in zip(principals, grants["id"], signs, strict=True):
                unknown = value is pd.NA
                if not unknown and bool(value) and isinstance(grant_id, str):
                    signing_grants.add(grant_id.lower())
                if not isinstance(principal, str):
                    continue
                if unknown:
                    possible.add(principal)
                elif bool(value):
                    why.setdefault(principal, "holds sign on a signing key")
    possible -= set(why)
    return _Signers(
        why=why,
        possible=frozenset(possible),
        signing_grants=frozenset(signing_grants),
        any=bool(why or possible or signing_grants),
    )


_SIGNING = frozenset({"sign"})


@rule(
    id="KV-ACC-005",
    title="Key Vault, Owner or Contributor role assigned above the vault",
    severity="medium",
    domain="access",
    resource_type="role_assignment",
    rationale="""A Key Vault data role, or Owner or Contributor (which can grant themselves access policies and
    roles), assigned at management-group, subscription or resource-group scope applies to every vault below it,
    including vaults created later. Assign Key Vault roles on the vault or the key.""",
    remediation=Remediation(
        cli=(
            "az role assignment delete --assignee <principal> --role <role> --scope <subscription-or-rg> && "
            "az role assignment create --assignee <principal> --role <role> --scope <vault-id>/keys/<key>"
        ),
        arm_bicep="resource ra 'Microsoft.Authorization/roleAssignments@2022-04-01' = { scope: vault, ... }  // not at RG or subscription",
        terraform="scope = azurerm_key_vault.kv.id  # azurerm_role_assignment, not the resource group or subscription",
    ),
    references=REFS_KV_RBAC,
    messages={
        "FAIL": "{role_name} for {principal_id} is assigned at {scope_level} scope {scope}, over {vaults_covered} vault(s)",
        "PASS": "{role_name} for {principal_id} is assigned at {scope_level} scope",
        "NOT_APPLICABLE": "{role_name} is not a Key Vault, Owner or Contributor role, or covers no vault",
    },
)
def broad_azure_role(ctx: RuleContext) -> pd.DataFrame:
    ra = ctx.role_assignments
    ra = ra[ra["plane"].ne("managed_hsm").fillna(True).to_numpy(dtype=bool)]
    names = ra["role_name"].str.lower()
    relevant = (
        role_guid(ra).isin(KEY_VAULT_ROLE_GUIDS).fillna(False)
        | names.str.startswith("key vault ").fillna(False)
        | names.isin(["owner", "contributor"]).fillna(False)
    )
    level = azure_scope_level(ra["scope"])
    scope = ra["scope"].str.lower().str.rstrip("/")
    vault_ids = ctx.vaults["id"].str.lower()
    by_rg = vault_ids.str.extract(r"^(/subscriptions/[^/]+/resourcegroups/[^/]+)")[0].value_counts()
    by_sub = vault_ids.str.extract(r"^(/subscriptions/[^/]+)")[0].value_counts()
    covered = pd.Series(0, index=ra.index, dtype="Int64")
    covered[level.eq("resource_group").to_numpy()] = (
        scope[level.eq("resource_group")].map(by_rg).fillna(0).astype(int).to_numpy()
    )
    covered[level.eq("subscription").to_numpy()] = (
        scope[level.eq("subscription")].map(by_sub).fillna(0).astype(int).to_numpy()
    )
    covered[level.eq("management_group").to_numpy()] = len(vault_ids)
    over_vaults = (covered.gt(0) | level.isin(["key", "vault"])).where(level.notna(), True)
    fail = (
        level.isin(["resource_group", "subscription", "management_group"]).astype("boolean").where(level.notna(), pd.NA)
    )
    return verdict(
        ra,
        fail=fail,
        applicable=relevant & over_vaults.astype("boolean"),
        evidence=["role_name", "scope", "principal_id", "principal_type"],
        extra={"scope_level": level, "vaults_covered": covered},
        reach=grant_reach(grant_targets(ctx, ra, "role")),
        resource_name=role_display(ra, ctx),
        resource_type="Microsoft.Authorization/roleAssignments",
    )


@rule(
    id="KV-ACC-006",
    title="Vault uses access policies instead of Azure RBAC",
    severity="medium",
    domain="access",
    resource_type="vault",
    rationale="""Vault access policies grant all-or-nothing permissions per object type across the whole vault,
    cannot be scoped to one key, cannot be made just-in-time with PIM, and can be edited by anyone with
    Contributor on the vault. Azure RBAC fixes all four.""",
    remediation=Remediation(
        cli="az keyvault update --name <vault> --enable-rbac-authorization true  # assign Key Vault roles first",
        arm_bicep="properties: { enableRbacAuthorization: true }",
        terraform="rbac_authorization_enabled = true  # enable_rbac_authorization on azurerm < 4",
    ),
    references=REFS_KV_RBAC + ("https://learn.microsoft.com/azure/key-vault/general/rbac-migration",),
    messages={
        "FAIL": "{resource_name} authorizes with vault access policies",
        "PASS": "{resource_name} authorizes with Azure RBAC",
        "NOT_APPLICABLE": "{resource_name} is a Managed HSM (local RBAC only)",
    },
)
def access_policies_instead_of_rbac(ctx: RuleContext) -> pd.DataFrame:
    v = ctx.vaults
    return verdict(
        v,
        fail=~v["rbac_authorization_enabled"],
        applicable=v["kind"].ne("managed_hsm"),
        evidence=["rbac_authorization_enabled"],
        resource_type=ctx.vault_types,
    )


@rule(
    id="KV-ACC-007",
    title="Access policy grants all key permissions or purge",
    severity="high",
    domain="access",
    resource_type="access_policy",
    rationale="""An access policy with every key permission (or "all") lets its holder use, export, delete and
    purge every key in the vault; purge alone lets it destroy keys irrecoverably once purge protection is off.""",
    remediation=Remediation(
        cli="az keyvault set-policy --name <vault> --object-id <principal> --key-permissions get list sign verify  # only what it needs",
        arm_bicep="accessPolicies: [ { objectId: principal, permissions: { keys: [ 'get', 'list', 'sign', 'verify' ] } } ]",
        terraform='key_permissions = ["Get", "List", "Sign", "Verify"]',
    ),
    references=("https://learn.microsoft.com/azure/key-vault/general/assign-access-policy",),
    messages={
        "FAIL": "access policy for {object_id} grants {key_permissions}",
        "PASS": "access policy for {object_id} grants {key_permissions}",
    },
)
def access_policy_too_broad(ctx: RuleContext) -> pd.DataFrame:
    ap = ctx.access_policies
    perms = lower_sets(ap["key_permissions"])
    every = frozenset(p for p in _EVERY_KEY_PERMISSION)
    fail = nullable((None if p is None else ("all" in p or "purge" in p or every <= p) for p in perms), ap.index)
    return verdict(
        ap,
        fail=fail,
        evidence=["object_id", "key_permissions"],
        resource_name=ap["vault_id"].str.rsplit("/", n=1).str[-1].fillna("?")
        + ":access-policy:"
        + ap["object_id"].fillna("?"),
        resource_type="Microsoft.KeyVault/vaults/accessPolicies",
    )


_EVERY_KEY_PERMISSION = (
    "backup",
    "create",
    "decrypt",
    "delete",
    "encrypt",
    "get",
    "import",
    "list",
    "recover",
    "restore",
    "sign",
    "unwrapkey",
    "update",
    "verify",
    "wrapkey",
)


@rule(
    id="KV-ACC-008",
    title="Role assignment for a principal that no longer exists",
    severity="low",
    domain="access",
    resource_type="role_assignment",
    rationale="""When a user, group or service principal is deleted its role assignments remain, shown with
    principal type Unknown. They clutter reviews and, for recreated object ids in some tenants, can confuse who
    has access; remove them.""",
    remediation=Remediation(
        cli="az role assignment delete --ids <assignment-id>  # az keyvault role assignment delete --hsm-name <hsm> --ids <id>",
        arm_bicep="Remove the roleAssignments resource that names the deleted principal",
        terraform="Remove the azurerm_role_assignment for the deleted principal",
    ),
    references=(
        "https://learn.microsoft.com/azure/role-based-access-control/troubleshooting#role-assignments-with-identity-not-found",
    ),
    messages={
        "FAIL": "{role_name} is assigned to {principal_id}, which no longer exists (principal type Unknown)",
        "PASS": "{role_name} is assigned to an existing {principal_type}",
        "NOT_APPLICABLE": "{resource_name}: IaC cannot show whether a principal exists",
    },
)
def orphaned_assignment(ctx: RuleContext) -> pd.DataFrame:
    ra = ctx.role_assignments
    fail = ra["principal_type"].str.lower().eq("unknown").astype("boolean")
    return verdict(
        ra,
        fail=fail,
        evidence=["role_name", "principal_id", "principal_type", "scope"],
        resource_name=role_display(ra, ctx),
        resource_type=role_types(ra, ctx),
    )


@rule(
    id="KV-ACC-009",
    title="CI identity holds Crypto Officer over an artifact-signing key",
    severity="high",
    domain="access",
    resource_type="role_assignment",
    params=(Param("ci_principal_ids", [], "Object ids of CI/CD identities, besides those that use signing keys"),),
    rationale="""Key lifecycle (create, rotate, export, delete, purge) for signing keys belongs to a Crypto Officer
    behind a manual approval, not to the pipeline that signs. A build agent with Crypto Officer can replace or
    export the signing key and sign anything with it.""",
    remediation=Remediation(
        cli="az keyvault role assignment delete --hsm-name <hsm> --role 'Managed HSM Crypto Officer' --assignee <ci-principal>",
        arm_bicep="Grant the pipeline only Crypto User at /keys/<signing-key>; keep Crypto Officer for an approval-gated identity",
        terraform="Remove the Crypto Officer role assignment for the CI principal",
    ),
    references=REFS_HSM_RBAC,
    messages={
        "FAIL": "CI identity {principal_id} holds {grant} at {scope}, over an artifact-signing key",
        "PASS": "{principal_id} holds {grant} at {scope} and is not a CI identity",
        "NOT_APPLICABLE": "{grant} at {scope} is not Crypto Officer over an artifact-signing key",
    },
)
def ci_crypto_officer(ctx: RuleContext) -> pd.DataFrame:
    refs = ctx.key_references
    view = ctx.key_view
    guarded = profile_field(ctx, view["profile"], "no_ci_crypto_officer").eq(True)
    guarded_keys = set(view.loc[guarded.to_numpy(), "id"].str.lower())
    ci = set(
        refs.loc[refs["key_id"].str.lower().isin(guarded_keys).fillna(False).to_numpy(), "principal_id"]
        .str.lower()
        .dropna()
    )
    ci |= ci_principal_ids(ctx)
    ra = ctx.role_assignments
    guarded_vaults = set(view.loc[guarded.to_numpy(), "vault_id"].dropna())
    grants = _grants(
        ctx, is_officer(ra) & near_vaults(ctx, guarded_vaults), pd.Series(False, index=ctx.access_policies.index)
    )
    if grants.empty:
        return grants.assign(status=[])
    reaches = _reach(ctx, grants, pd.Series(guarded.to_numpy(), index=ctx.keys.index, dtype="boolean"))
    fail = grants["principal_id"].isin(ci).astype("boolean").where(grants["principal_id"].notna(), pd.NA)
    return _grant_verdict(grants, fail=fail, applicable=reaches)


@rule(
    id="KV-ACC-010",
    title="Access to an Ethereum signing key goes beyond get, list, sign and verify",
    severity="high",
    domain="access",
    resource_type="access_policy",
    rationale="""A transaction-signing service needs to find its keys and sign with them, nothing else. Any
    other permission on a secp256k1 key (update, delete, backup, import) lets a compromised signer replace,
    copy or destroy the keys that control on-chain funds.""",
    remediation=Remediation(
        cli="az keyvault set-policy --name <vault> --object-id <principal> --key-permissions get list sign verify",
        arm_bicep="permissions: { keys: [ 'get', 'list', 'sign', 'verify' ] }",
        terraform='key_permissions = ["Get", "List", "Sign", "Verify"]',
    ),
    references=("https://learn.microsoft.com/azure/key-vault/general/assign-access-policy",),
    messages={
        "FAIL": "{principal_id} holds {grant} over an Ethereum signing key: {extra_operations} beyond get, list, sign, verify",
        "PASS": "{principal_id} holds only {grant} over an Ethereum signing key",
        "NOT_APPLICABLE": "the grant reaches no Ethereum signing key",
    },
)
def ethereum_access_too_broad(ctx: RuleContext) -> pd.DataFrame:
    view = ctx.key_view
    allowed_by_key = profile_field(ctx, view["profile"], "allowed_permissions")
    limited = pd.Series(
        allowed_by_key.map(lambda a: isinstance(a, list)).to_numpy(), index=ctx.keys.index, dtype="boolean"
    )
    if not limited.any():
        return _grants(
            ctx, pd.Series(False, index=ctx.role_assignments.index), pd.Series(False, index=ctx.access_policies.index)
        ).assign(status=[])
    allowed = frozenset(
        _PERMISSION_TO_OP.get(str(p).lower(), str(p).lower()) for a in allowed_by_key.dropna() for p in a
    )
    limited_vaults = set(ctx.keys.loc[limited.fillna(False).to_numpy(dtype=bool), "vault_id"].dropna())
    grants = _grants(
        ctx, near_vaults(ctx, limited_vaults), ctx.access_policies["vault_id"].isin(limited_vaults).fillna(False)
    )
    reaches = _reach(ctx, grants, limited)
    extra_ops = grants["operations"].map(lambda s: sorted(s - allowed) if s is not None else None)
    return _grant_verdict(
        grants,
        fail=beyond(grants["operations"], allowed),
        applicable=reaches,
        extra={"extra_operations": extra_ops},
    )


_PERMISSION_TO_OP = {"get": "read", "list": "read"}
