"""The acceptance cases of issue 12: each deployment guide in shared/deployment-guides, as described
and once per mistake the guide warns about, in the IaC forms its users write.

Every mistake quotes the guide's own sentence. ``expected`` is what a correct scanner reports by the
guide and issue 12; a case whose expectation today's product misses because of a cause being fixed
(B-H of issue 12) carries that cause in ``xfail``. Facts that only live Azure shows (logs delivered,
the security domain activated, a pinned version later disabled, a CI identity known from its
pipeline) are covered by the snapshot cases of tests/rules/test_deployment_guides.py.

Where a guide is silent about something kvaudit also judges (the network perimeter, audit logs,
key expiry and rotation), the fixtures take the compliant choice, as the snapshot estates do, so
that each case isolates what the guide is about. Managed HSM local RBAC has no ARM resource, so
grants are visible in Terraform only (and in snapshots).

Three readings of the guides, so that each deployment as described gets nothing at high:
- 001 grants Crypto User at "/" on an HSM its Step 1 provisions for the Trust Domain Server alone, so
  its policy declares that HSM dedicated; the same grant on a shared HSM is a case.
- 002 says "Assign the narrowest roles", so its Terraform scopes each grant to its key; the guide's own
  commands (--scope /keys) are a case, and they fail KV-ACC-001.
- 004 creates its key with the portal's "EC" type but wants "HSM based keys management", so its key is
  EC-HSM in a premium vault; a software EC key is a case.

``python -m tests.acceptance.cases`` prints the table of cases per guide.
"""

from __future__ import annotations

from tests.acceptance.harness import Case, Edit

G0, G1, G2, G3, G4 = (
    "000_bootstrap_signer",
    "001_key_wrapping",
    "002_secure_key_release",
    "003_artifact_signing",
    "004_ethereum_signer",
)
TITLES = {
    G0: "Control-plane bootstrap signer on Managed HSM (Yutha)",
    G1: "Envelope key wrapping with a Managed HSM KEK (Defakto)",
    G2: "Secure key release to confidential VMs (Managed HSM + SKR)",
    G3: "Artifact-signing pipelines on Managed HSM (Safeguard)",
    G4: "Ethereum transaction signer on Key Vault (Kaleido)",
}
DESCRIBED = "as described"


def _f(*rows: tuple[str, str, str]) -> frozenset[tuple[str, str, str]]:
    return frozenset(rows)


# --- 000: Yutha bootstrap signer ------------------------------------------------------------------
G0_BASE = _f(("KV-REC-002", "yutha-hsm", "FAIL"))  # az keyvault create --retention-days 28
G0_STD_KEY = _f(
    ("KV-TIER-001", "yutha-kv/bootstrap", "FAIL"),
    ("KV-TIER-002", "yutha-kv/bootstrap", "FAIL"),
    ("KV-TIER-003", "yutha-kv/bootstrap", "FAIL"),
    ("KV-KEY-002", "yutha-kv/bootstrap", "FAIL"),
)
Q0_STD = (
    "The standard Azure Key Vault tier (*.vault.azure.net) does NOT support Ed25519 keys. Trying to point "
    "this signer at one will fail at startup with SignerError::UnsupportedAlgorithm."
)
Q0_PIN = (
    "--signer-azure-kv-key-version is technically optional (without it the signer takes the latest "
    "version) but strongly recommended in production"
)
Q0_SCOPE = (
    "If you scoped at / instead of /keys/$KEY_NAME, the SP would have crypto-user rights on every key in "
    "the HSM — that's only appropriate for an HSM dedicated to Yutha."
)
Q0_KTY = (
    "The key isn't OKP-HSM/Ed25519 (you accidentally created an RSA or EC key, or you're pointed at a "
    "standard Key Vault)."
)
K8S = "yutha-control-plane.yaml"
G0_CASES = [
    Case(G0, "terraform", DESCRIBED, "", G0_BASE),
    Case(
        G0,
        "terraform",
        "signer pointed at a standard vault",
        Q0_STD,
        G0_BASE | G0_STD_KEY | {("KV-TIER-004", "yutha-control-plane", "FAIL")},
        edits=(Edit(K8S, "https://yutha-hsm.managedhsm.azure.net", "https://yutha-kv.vault.azure.net"),),
        extra_files=(("extra/standard_vault.tf", "standard_vault.tf"),),
    ),
    Case(
        G0,
        "terraform",
        "key version not pinned",
        Q0_PIN,
        G0_BASE | {("KV-VER-001", "yutha-control-plane", "FAIL")},
        edits=(
            Edit(
                K8S,
                "            - name: YUTHA_SIGNER_AZURE_KV_KEY_VERSION\n"
                "              value: a1b2c3d4e5f60718293a4b5c6d7e8f90\n",
                "",
            ),
        ),
    ),
    Case(
        G0,
        "terraform",
        "key version not pinned, control plane as a Container App",
        Q0_PIN,
        G0_BASE | {("KV-VER-001", "yutha-control-plane", "FAIL")},
        removed_files=(K8S,),
        extra_files=(("extra/container_app.tf", "container_app.tf"),),
    ),
    Case(
        G0,
        "terraform",
        "Crypto User at / instead of /keys/bootstrap",
        Q0_SCOPE,
        G0_BASE | {("KV-ACC-001", "yutha-hsm:/:6f7e0b8e-1c3d-4a5b-9c8d-7e6f5a4b3c2d", "FAIL")},
        edits=(Edit("main.tf", 'scope              = "/keys/${local.key_name}"', 'scope              = "/"'),),
    ),
    Case(
        G0,
        "terraform",
        "an EC key instead of Ed25519",
        Q0_KTY,
        G0_BASE | {("KV-KEY-002", "yutha-hsm/bootstrap", "FAIL")},
        edits=(Edit("main.tf", 'kty       = "OKP-HSM"\n      curveName = "Ed25519"', 'kty       = "EC-HSM"\n      curveName = "P-256"'),),
    ),
    Case(G0, "bicep", DESCRIBED, "", G0_BASE),
    Case(
        G0,
        "bicep",
        "signer pointed at a standard vault",
        Q0_STD,
        G0_BASE | G0_STD_KEY | {("KV-TIER-004", "yutha-control-plane", "FAIL")},
        edits=(Edit("main.bicep", "'https://${hsmName}.managedhsm.azure.net'", "'https://yutha-kv.vault.azure.net'"),),
        extra_files=(("extra/standard_vault.bicep", "standard_vault.bicep"),),
    ),
    Case(
        G0,
        "bicep",
        "key version not pinned",
        Q0_PIN,
        G0_BASE | {("KV-VER-001", "yutha-control-plane", "FAIL")},
        edits=(
            Edit(
                "main.bicep",
                "            {\n"
                "              name: 'YUTHA_SIGNER_AZURE_KV_KEY_VERSION'\n"
                "              value: keyVersion\n"
                "            }\n",
                "",
            ),
        ),
    ),
    Case(
        G0,
        "bicep",
        "an EC key instead of Ed25519",
        Q0_KTY,
        G0_BASE | {("KV-KEY-002", "yutha-hsm/bootstrap", "FAIL")},
        edits=(Edit("main.bicep", "kty: 'OKP-HSM'\n    curveName: 'Ed25519'", "kty: 'EC'\n    curveName: 'P-256'"),),
    ),
]

# --- 001: Defakto key wrapping --------------------------------------------------------------------
G1_KEK = "my-managed-hsm/defakto-wrapping-key"
Q1_AES = "Create an AES-256 key in the Managed HSM for key wrapping."
Q1_PIN = "If keyVersion is omitted, the latest version of the key is used."
Q1_SHARED = (
    "Assign the Managed HSM Crypto User role to the Trust Domain Server's identity on the Managed HSM. This "
    "role permits encrypt and decrypt operations"
)
VALUES = "values.yaml"
G1_CASES = [
    Case(G1, "terraform", DESCRIBED, "", _f()),
    Case(
        G1,
        "terraform",
        "keyVersion omitted",
        Q1_PIN,
        _f(),
        edits=(Edit(VALUES, '    keyVersion: "a1b2c3d4e5f6"\n', ""),),
    ),
    Case(
        G1,
        "terraform",
        "an AES-128 key",
        Q1_AES,
        _f(("KV-KEY-002", G1_KEK, "FAIL"), ("KV-KEY-004", G1_KEK, "FAIL")),
        edits=(Edit("main.tf", "key_size        = 256", "key_size        = 128"),),
    ),
    Case(
        G1,
        "terraform",
        "Step 3's Crypto User at / on an HSM that is not dedicated (README: over-broad unless dedicated)",
        Q1_SHARED,
        _f(("KV-ACC-001", "my-managed-hsm:/:0d3f5a7c-2b4e-4c6d-8e0f-1a2b3c4d5e6f", "FAIL")),
        policy_edits=(('dedicated = ["my-managed-hsm"]', "dedicated = []"),),
    ),
    Case(G1, "bicep", DESCRIBED, "", _f()),
    Case(
        G1,
        "bicep",
        "an AES-128 key",
        Q1_AES,
        _f(("KV-KEY-002", G1_KEK, "FAIL"), ("KV-KEY-004", G1_KEK, "FAIL")),
        edits=(Edit("main.bicep", "keySize: 256", "keySize: 128"),),
    ),
]

# --- 002: Secure key release ----------------------------------------------------------------------
G2_KEY = "kv-mhsm-prod/cvm-data-key"
# az keyvault key create ... --exportable true --policy @skr-policy.json, without --immutable.
G2_BASE = _f(("KV-KEY-008", G2_KEY, "FAIL"))
Q2_EXPORT = "The --exportable flag is meaningless without --policy; together they mean “exportable only under attestation.”"
Q2_CLAIM = (
    "x-ms-compliance-status: azure-compliant-cvm is doing heavy lifting: it asserts MAA validated the SEV-SNP "
    "report against Azure’s baseline"
)
Q2_PUBLIC = (
    "Put the HSM behind Private Link and set public network access to disabled so the data plane is only "
    "reachable from your VNets."
)
Q2_PURGE = (
    "With purge protection on, even a soft-deleted HSM cannot be permanently removed before the retention "
    "window elapses - this defeats a ransomware-style “delete the keys” attack."
)
Q2_ADMINS = "Keep the administrator role count tiny and behind PIM."
Q2_OVERLAP = "No identity should hold both Administrator and Crypto Officer in steady state."
Q2_NARROW = "Assign the narrowest roles. A crypto user can use keys but not manage them"
#: The same policy with only the attestation-type claim (x-ms-compliance-status dropped), base64url.
G2_ONE_CLAIM = (
    "eyJ2ZXJzaW9uIjoiMS4wLjAiLCJhbnlPZiI6W3siYXV0aG9yaXR5IjoiaHR0cHM6Ly9zaGFyZWRldXMyLmV1czIuYXR0ZXN0LmF6dXJl"
    "Lm5ldCIsImFsbE9mIjpbeyJjbGFpbSI6IngtbXMtaXNvbGF0aW9uLXRlZS54LW1zLWF0dGVzdGF0aW9uLXR5cGUiLCJlcXVhbHMiOiJz"
    "ZXZzbnB2bSJ9XX1dfQ"
)
SIX_ADMINS_TF = "[" + ", ".join(f'"0a1d0000-0000-4000-8000-0000000000e{i}"' for i in range(1, 7)) + "]"
SIX_ADMINS_BICEP = "".join(f"  '0a1d0000-0000-4000-8000-0000000000e{i}'\n" for i in range(1, 7))
TF_RELEASE = (
    "      releasePolicy = {\n"
    '        contentType = "application/json; charset=utf-8"\n'
    "        data        = local.skr_policy\n"
    "      }\n"
)
BICEP_RELEASE = (
    "    releasePolicy: {\n"
    "      contentType: 'application/json; charset=utf-8'\n"
    "      data: base64(string(skrPolicy))\n"
    "    }\n"
)
G2_CASES = [
    Case(G2, "terraform", DESCRIBED, "", G2_BASE),
    Case(
        G2,
        "terraform",
        "exportable without a release policy",
        Q2_EXPORT,
        _f(("KV-KEY-006", G2_KEY, "FAIL")),
        edits=(Edit("main.tf", TF_RELEASE, ""),),
    ),
    Case(
        G2,
        "terraform",
        "release policy without the compliance-status claim",
        Q2_CLAIM,
        G2_BASE | {("KV-KEY-007", G2_KEY, "FAIL")},
        edits=(Edit("main.tf", "data        = local.skr_policy", f'data        = "{G2_ONE_CLAIM}"'),),
    ),
    Case(
        G2,
        "terraform",
        "public network access enabled",
        Q2_PUBLIC,
        G2_BASE | {("KV-NET-001", "kv-mhsm-prod", "FAIL")},
        edits=(Edit("main.tf", "public_network_access_enabled = false", "public_network_access_enabled = true "),),
    ),
    Case(
        G2,
        "terraform",
        "no private endpoint",
        Q2_PUBLIC,
        G2_BASE | {("KV-NET-003", "kv-mhsm-prod", "FAIL")},
        removed_files=("private_endpoint.tf",),
    ),
    Case(
        G2,
        "terraform",
        "purge protection off",
        Q2_PURGE,
        G2_BASE | {("KV-REC-003", "kv-mhsm-prod", "FAIL")},
        edits=(Edit("main.tf", "purge_protection_enabled      = true ", "purge_protection_enabled      = false"),),
    ),
    Case(
        G2,
        "terraform",
        "six administrators",
        Q2_ADMINS,
        G2_BASE | {("KV-ACC-002", "kv-mhsm-prod", "FAIL")},
        edits=(Edit("main.tf", '["0a1d0000-0000-4000-8000-0000000000e1"]', SIX_ADMINS_TF),),
    ),
    Case(
        G2,
        "terraform",
        "the administrator is also Crypto Officer",
        Q2_OVERLAP,
        G2_BASE | {("KV-ACC-003", "kv-mhsm-prod:/keys/payments-wrap-key:a0a0a0a0-0000-4000-8000-00000000a002", "FAIL")},
        edits=(Edit("main.tf", '"5e000000-0000-4000-8000-0000000000a3"', '"0a1d0000-0000-4000-8000-0000000000e1"'),),
    ),
    Case(
        G2,
        "terraform",
        "Crypto User and Crypto Officer at /keys, as the guide's commands scope them",
        Q2_NARROW,
        G2_BASE
        | {
            ("KV-ACC-001", "kv-mhsm-prod:/keys:a0a0a0a0-0000-4000-8000-00000000a001", "FAIL"),
            ("KV-ACC-001", "kv-mhsm-prod:/keys:a0a0a0a0-0000-4000-8000-00000000a002", "FAIL"),
        },
        edits=(
            Edit("main.tf", 'scope              = "/keys/cvm-data-key"', 'scope              = "/keys"'),
            Edit("main.tf", 'scope              = "/keys/payments-wrap-key"', 'scope              = "/keys"'),
        ),
    ),
    Case(G2, "bicep", DESCRIBED, "", G2_BASE),
    Case(
        G2,
        "bicep",
        "exportable without a release policy",
        Q2_EXPORT,
        _f(("KV-KEY-006", G2_KEY, "FAIL")),
        edits=(Edit("main.bicep", BICEP_RELEASE, ""),),
    ),
    Case(
        G2,
        "bicep",
        "release policy without the compliance-status claim",
        Q2_CLAIM,
        G2_BASE | {("KV-KEY-007", G2_KEY, "FAIL")},
        edits=(
            Edit(
                "main.bicep",
                "        {\n          claim: 'x-ms-isolation-tee.x-ms-compliance-status'\n"
                "          equals: 'azure-compliant-cvm'\n        }\n",
                "",
            ),
        ),
    ),
    Case(
        G2,
        "bicep",
        "public network access enabled",
        Q2_PUBLIC,
        G2_BASE | {("KV-NET-001", "kv-mhsm-prod", "FAIL")},
        edits=(Edit("main.bicep", "publicNetworkAccess: 'Disabled'", "publicNetworkAccess: 'Enabled'"),),
    ),
    Case(
        G2,
        "bicep",
        "purge protection off",
        Q2_PURGE,
        G2_BASE | {("KV-REC-003", "kv-mhsm-prod", "FAIL")},
        edits=(Edit("main.bicep", "enablePurgeProtection: true", "enablePurgeProtection: false"),),
    ),
    Case(
        G2,
        "bicep",
        "six administrators",
        Q2_ADMINS,
        G2_BASE | {("KV-ACC-002", "kv-mhsm-prod", "FAIL")},
        edits=(Edit("main.bicep", "  '0a1d0000-0000-4000-8000-0000000000e1'\n", SIX_ADMINS_BICEP),),
    ),
]

ARM = "azuredeploy.json"
ARM_RELEASE = (
    '        "releasePolicy": {\n'
    '          "contentType": "application/json; charset=utf-8",\n'
    '          "data": "[base64(string(variables(\'skrPolicy\')))]"\n'
    "        },\n"
)
ARM_COMPLIANCE_CLAIM = (
    "            },\n"
    "            {\n"
    '              "claim": "x-ms-isolation-tee.x-ms-compliance-status",\n'
    '              "equals": "azure-compliant-cvm"\n'
    "            }\n"
)
SIX_ADMINS_ARM = "[" + ", ".join(f'"0a1d0000-0000-4000-8000-0000000000e{i}"' for i in range(1, 7)) + "]"
G2_CASES += [
    Case(G2, "arm", DESCRIBED, "", G2_BASE),
    Case(
        G2,
        "arm",
        "exportable without a release policy",
        Q2_EXPORT,
        _f(("KV-KEY-006", G2_KEY, "FAIL")),
        edits=(Edit(ARM, ARM_RELEASE, ""),),
    ),
    Case(
        G2,
        "arm",
        "release policy without the compliance-status claim",
        Q2_CLAIM,
        G2_BASE | {("KV-KEY-007", G2_KEY, "FAIL")},
        edits=(Edit(ARM, ARM_COMPLIANCE_CLAIM, "            }\n"),),
    ),
    Case(
        G2,
        "arm",
        "public network access enabled",
        Q2_PUBLIC,
        G2_BASE | {("KV-NET-001", "kv-mhsm-prod", "FAIL")},
        edits=(Edit(ARM, '"publicNetworkAccess": "Disabled"', '"publicNetworkAccess": "Enabled"'),),
    ),
    Case(
        G2,
        "arm",
        "purge protection off",
        Q2_PURGE,
        G2_BASE | {("KV-REC-003", "kv-mhsm-prod", "FAIL")},
        edits=(Edit(ARM, '"enablePurgeProtection": true', '"enablePurgeProtection": false'),),
    ),
    Case(
        G2,
        "arm",
        "six administrators",
        Q2_ADMINS,
        G2_BASE | {("KV-ACC-002", "kv-mhsm-prod", "FAIL")},
        edits=(Edit(ARM, '["0a1d0000-0000-4000-8000-0000000000e1"]', SIX_ADMINS_ARM),),
    ),
]


# --- 003: Artifact signing ------------------------------------------------------------------------
G3_KEY = "myorg-mhsm/codesign-prod-2026"
G3_STD_KEY = "myorg-kv-signing/codesign-prod-2026"
Q3_DECRYPT = (
    "build agents authenticate with a workload identity that has Crypto User on the specific signing key, "
    "with permission for sign but not decrypt or unwrapKey"
)
Q3_MOVE = (
    "Policy gates block infrastructure-as-code changes that grant decrypt or unwrapKey permissions to build "
    "identities that only need sign, that move signing keys into standard Key Vault from Managed HSM, or that "
    "disable purge protection on a vault holding signing material."
)
C_SIGNER = "C: an identity holding a role on a signer-profile key is not taken for a signer in IaC, so KV-ACC-004 is silent"
HSM_KEY_BICEP = "resource codesign 'Microsoft.KeyVault/managedHSMs/keys@2023-07-01' = {"
G3_CASES = [
    Case(G3, "terraform", DESCRIBED, "", _f()),
    Case(
        G3,
        "terraform",
        "the signing key also allows decrypt and unwrapKey",
        Q3_DECRYPT,
        _f(
            ("KV-KEY-005", G3_KEY, "FAIL"),
            ("KV-ACC-004", "myorg-mhsm:/keys/codesign-prod-2026:b0b0b0b0-0000-4000-8000-00000000b001", "FAIL"),
        ),
        edits=(Edit("signing_key.tf", '["sign", "verify"]', '["sign", "verify", "decrypt", "unwrapKey"]'),),
    ),
    Case(
        G3,
        "terraform",
        "the signing key moved into a standard Key Vault",
        Q3_MOVE,
        _f(("KV-TIER-001", G3_STD_KEY, "FAIL"), ("KV-TIER-002", G3_STD_KEY, "FAIL")),
        removed_files=("signing_key.tf",),
        extra_files=(("extra/standard_vault.tf", "standard_vault.tf"),),
    ),
    Case(
        G3,
        "terraform",
        "purge protection disabled on the signing HSM",
        Q3_MOVE,
        _f(("KV-REC-003", "myorg-mhsm", "FAIL")),
        edits=(Edit("main.tf", "purge_protection_enabled      = true", "purge_protection_enabled      = false"),),
    ),
    Case(G3, "bicep", DESCRIBED, "", _f()),
    Case(
        G3,
        "bicep",
        "the signing key also allows decrypt and unwrapKey",
        Q3_DECRYPT,
        _f(("KV-KEY-005", G3_KEY, "FAIL")),
        edits=(Edit("main.bicep", "      'verify'\n    ]", "      'verify'\n      'decrypt'\n      'unwrapKey'\n    ]"),),
    ),
    Case(
        G3,
        "bicep",
        "the signing key moved into a standard Key Vault",
        Q3_MOVE,
        _f(("KV-TIER-001", G3_STD_KEY, "FAIL"), ("KV-TIER-002", G3_STD_KEY, "FAIL")),
        edits=(Edit("main.bicep", HSM_KEY_BICEP, HSM_KEY_BICEP.replace("= {", "= if (false) { // moved")),),
        extra_files=(("extra/standard_vault.bicep", "standard_vault.bicep"),),
    ),
    Case(
        G3,
        "bicep",
        "purge protection disabled on the signing HSM",
        Q3_MOVE,
        _f(("KV-REC-003", "myorg-mhsm", "FAIL")),
        edits=(Edit("main.bicep", "enablePurgeProtection: true", "enablePurgeProtection: false"),),
    ),
]

# --- 004: Ethereum signer -------------------------------------------------------------------------
G4_KEY = "kaleido-signer/eth-account-1"
G4_POLICY = "kaleido-signer:access-policy:4a1e1d00-0000-4000-8000-0000000000c1"
# The guide configures vault access policies ("Click Next: Access policy"), not Azure RBAC.
G4_BASE = _f(("KV-ACC-006", "kaleido-signer", "FAIL"))
Q4_PERMS = (
    "From Key Permissions drop-down, leave only the following options checked: Key Management Operations: "
    "Get, List; Cryptographic Operations: Verify, Sign"
)
Q4_HSM = (
    "This allows client total control of their cryptographic materials in hardware and firmware without being "
    "exposed to any operators including Microsoft. Using an HSM based keys management provides the highest "
    "level of security."
)
Q4_CURVE = "generate secp256k1 keys suitable for signing Ethereum transactions"
#: What the portal's "Key management" template checks for keys, left as it is.
TEMPLATE_TF = '["Get", "List", "Update", "Create", "Import", "Delete", "Recover", "Backup", "Restore", "Sign", "Verify"]'
TEMPLATE_BICEP = "".join(
    f"            '{p}'\n"
    for p in ("get", "list", "update", "create", "import", "delete", "recover", "backup", "restore", "sign", "verify")
)
BICEP_PERMS = "            'get'\n            'list'\n            'sign'\n            'verify'\n"
G4_SOFTWARE = _f(("KV-TIER-002", G4_KEY, "FAIL"), ("KV-KEY-002", G4_KEY, "FAIL"))
G4_CASES = [
    Case(G4, "terraform", DESCRIBED, "", G4_BASE),
    Case(
        G4,
        "terraform",
        "the Key management template's permissions left checked",
        Q4_PERMS,
        G4_BASE | {("KV-ACC-010", G4_POLICY, "FAIL")},
        edits=(Edit("main.tf", '["Get", "List", "Sign", "Verify"]', TEMPLATE_TF),),
    ),
    Case(
        G4,
        "terraform",
        "a software-protected EC key",
        Q4_HSM,
        G4_BASE | G4_SOFTWARE,
        edits=(Edit("main.tf", 'key_type        = "EC-HSM"', 'key_type        = "EC"'),),
    ),
    Case(
        G4,
        "terraform",
        "a standard-SKU vault holding a software EC key",
        Q4_HSM,
        G4_BASE | G4_SOFTWARE | {("KV-TIER-001", G4_KEY, "FAIL")},
        edits=(
            Edit("main.tf", 'sku_name                      = "premium"', 'sku_name                      = "standard"'),
            Edit("main.tf", 'key_type        = "EC-HSM"', 'key_type        = "EC"'),
        ),
    ),
    Case(
        G4,
        "terraform",
        "a P-256 key instead of secp256k1",
        Q4_CURVE,
        G4_BASE | {("KV-KEY-002", G4_KEY, "FAIL")},
        edits=(Edit("main.tf", 'curve           = "P-256K"', 'curve           = "P-256"'),),
    ),
    Case(G4, "bicep", DESCRIBED, "", G4_BASE),
    Case(
        G4,
        "bicep",
        "the Key management template's permissions left checked",
        Q4_PERMS,
        G4_BASE | {("KV-ACC-010", G4_POLICY, "FAIL")},
        edits=(Edit("main.bicep", BICEP_PERMS, TEMPLATE_BICEP),),
    ),
    Case(
        G4,
        "bicep",
        "a software-protected EC key",
        Q4_HSM,
        G4_BASE | G4_SOFTWARE,
        edits=(Edit("main.bicep", "kty: 'EC-HSM'", "kty: 'EC'"),),
    ),
    Case(
        G4,
        "bicep",
        "a standard-SKU vault holding a software EC key",
        Q4_HSM,
        G4_BASE | G4_SOFTWARE | {("KV-TIER-001", G4_KEY, "FAIL")},
        edits=(Edit("main.bicep", "name: 'premium'", "name: 'standard'"), Edit("main.bicep", "kty: 'EC-HSM'", "kty: 'EC'")),
    ),
    Case(
        G4,
        "bicep",
        "a P-256 key instead of secp256k1",
        Q4_CURVE,
        G4_BASE | {("KV-KEY-002", G4_KEY, "FAIL")},
        edits=(Edit("main.bicep", "curveName: 'P-256K'", "curveName: 'P-256'"),),
    ),
]

ARM_TEMPLATE_PERMS = (
    '"keys": ["Get", "List", "Update", "Create", "Import", "Delete", "Recover", "Backup", "Restore", "Sign", "Verify"]'
)
G4_CASES += [
    Case(G4, "arm", DESCRIBED, "", G4_BASE),
    Case(
        G4,
        "arm",
        "the Key management template's permissions left checked",
        Q4_PERMS,
        G4_BASE | {("KV-ACC-010", G4_POLICY, "FAIL")},
        edits=(Edit(ARM, '"keys": ["Get", "List", "Sign", "Verify"]', ARM_TEMPLATE_PERMS),),
    ),
    Case(
        G4,
        "arm",
        "a software-protected EC key",
        Q4_HSM,
        G4_BASE | G4_SOFTWARE,
        edits=(Edit(ARM, '"kty": "EC-HSM"', '"kty": "EC"'),),
    ),
    Case(
        G4,
        "arm",
        "a standard-SKU vault holding a software EC key",
        Q4_HSM,
        G4_BASE | G4_SOFTWARE | {("KV-TIER-001", G4_KEY, "FAIL")},
        edits=(Edit(ARM, '"name": "premium"', '"name": "standard"'), Edit(ARM, '"kty": "EC-HSM"', '"kty": "EC"')),
    ),
    Case(
        G4,
        "arm",
        "a P-256 key instead of secp256k1",
        Q4_CURVE,
        G4_BASE | {("KV-KEY-002", G4_KEY, "FAIL")},
        edits=(Edit(ARM, '"curveName": "P-256K"', '"curveName": "P-256"'),),
    ),
]

CASES: list[Case] = [*G0_CASES, *G1_CASES, *G2_CASES, *G3_CASES, *G4_CASES]


def _delta(case: Case) -> str:
    """A mistake's findings as the change from its deployment as described (+ added, - gone)."""
    if case.name == DESCRIBED:
        return ", ".join(f"{r} {n} {s}" for r, n, s in sorted(case.expected)) or "none"
    base = next(c.expected for c in CASES if (c.guide, c.form, c.name) == (case.guide, case.form, DESCRIBED))
    added = [f"+{r} {n} {s}" for r, n, s in sorted(case.expected - base)]
    gone = [f"-{r} {n} {s}" for r, n, s in sorted(base - case.expected)]
    return ", ".join(added + gone) or "no change"


def table() -> str:
    """The cases per guide as Markdown, for the closing note of issue 12: one row per case and
    expectation, with the forms it is written in and, per form, whether today's product holds it."""
    lines: list[str] = []
    for guide, title in TITLES.items():
        lines += [f"### {guide}: {title}", "", "| case | guide says | not passing (mistakes: change from as described) | forms: today |"]
        lines.append("|---|---|---|---|")
        rows: dict[tuple[str, str], list[Case]] = {}
        for case in (c for c in CASES if c.guide == guide):
            rows.setdefault((case.name, _delta(case)), []).append(case)
        for (name, delta), cases in rows.items():
            quote = f"“{cases[0].quote}”" if cases[0].quote else ""
            today = ", ".join(f"{c.form}: {'xfail ' + c.xfail.split(':')[0] if c.xfail else 'holds'}" for c in cases)
            lines.append(f"| {name} | {quote} | {delta} | {today} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
