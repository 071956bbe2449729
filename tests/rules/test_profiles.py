"""Key-purpose profiles: assignment order (tag, policy, inference), unknown names reported,
custom profiles from the policy, evidence in findings, and the ``kvaudit profiles`` command."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from kvaudit.reports.model import build_report
from kvaudit.rules.engine import evaluate
from kvaudit.rules.profiles import DEFAULT_REASON, assign_profiles, builtin_profiles
from kvaudit.scanner.errors import PolicyError
from kvaudit.scanner.policy import parse
from tests.rules.builders import NOW, inventory, key, ref, vault

HSM = vault("hsm-a", hsm=True)
KEYS = [
    key(HSM, "tagged", kty="OKP-HSM", tags={"kvaudit-profile": "byok-kek"}),
    key(HSM, "bootstrap-1", kty="RSA-HSM"),
    key(HSM, "inferred", kty="oct-HSM", key_size=256),
    key(HSM, "typo", kty="OKP-HSM", tags={"KVAUDIT-PROFILE": "ed25519-signr"}),
    key(HSM, "signed", kty="EC-HSM", curve="P-384"),
    key(HSM, "plain", kty="RSA-HSM"),
]
POLICY = parse(
    """
[[profiles.assign]]
vault = "hsm-*"
key = "bootstrap-*"
profile = "ed25519-signer"
[[profiles.assign]]
key = "tagged"
profile = "aes-kek"
""",
    "policy.toml",
)


def _assigned(policy=POLICY) -> dict[str, tuple]:
    inv = inventory(vaults=[HSM], keys=KEYS, key_references=[ref("ci", KEYS[4], "v2", "sign")])
    df = assign_profiles(inv, policy)
    names = {k["id"]: k["name"] for k in KEYS}
    return {
        names[r.key_id]: (r.profile, r.profile_source, r.profile_reason, r.profile_unknown) for r in df.itertuples()
    }


def test_tag_then_policy_then_inference_and_unknown_names_fall_through() -> None:
    assert _assigned() == {
        "tagged": ("byok-kek", "tag", "tag kvaudit-profile=byok-kek", None),
        "bootstrap-1": ("ed25519-signer", "policy", "policy assigns vault 'hsm-*' key 'bootstrap-*'", None),
        "inferred": ("aes-kek", "inference", "kty oct-HSM is a symmetric key-wrapping key", None),
        "typo": (
            "ed25519-signer",
            "inference",
            "kty OKP-HSM is only used for Ed25519 signing",
            "tag kvaudit-profile=ed25519-signr",
        ),
        "signed": ("artifact-signing", "inference", "a consumer uses it to sign", None),
        # No tag, assignment or inference: the built-in default profile.
        "plain": ("default", "default", DEFAULT_REASON, None),
    }


def test_policy_assignment_to_an_unknown_profile_is_reported() -> None:
    policy = parse('[[profiles.assign]]\nkey = "plain"\nprofile = "nope"\n', "p.toml")
    assert _assigned(policy)["plain"] == (
        "default",
        "default",
        DEFAULT_REASON,
        "policy assigns vault '*' key 'plain' to 'nope'",
    )


def test_custom_profiles_extend_and_validate() -> None:
    policy = parse(
        '[profiles.custom.strict-kek]\nextends = "aes-kek"\npin_required = true\n'
        '[[profiles.assign]]\nkey = "plain"\nprofile = "strict-kek"\n',
        "p.toml",
    )
    assert _assigned(policy)["plain"][:2] == ("strict-kek", "policy")
    evaluation = evaluate(inventory(vaults=[HSM], keys=KEYS), policy, now=NOW)
    kty = next(o for o in evaluation.outcomes if o.rule.id == "KV-KEY-002").results
    row = kty[kty["resource_name"] == "hsm-a/plain"].iloc[0]
    assert (row["status"], row["ev:profile_kty"]) == ("FAIL", ["oct-HSM"])
    with pytest.raises(PolicyError, match="profile 'bad' has no field 'colour'"):
        evaluate(inventory(vaults=[HSM], keys=KEYS), parse("[profiles.custom.bad]\ncolour = 1\n", "p.toml"), now=NOW)
    with pytest.raises(PolicyError, match="tier 'gold' is not one of"):
        evaluate(inventory(vaults=[HSM], keys=KEYS), parse('[profiles.custom.bad]\ntier = "gold"\n', "p.toml"), now=NOW)


def test_findings_say_which_profile_applied_and_why() -> None:
    inv = inventory(vaults=[HSM], keys=KEYS)
    report = build_report(inv, evaluate(inv, POLICY, now=NOW), started=datetime(2026, 11, 23, tzinfo=UTC))
    finding = next(
        f for f in report["findings"] if f["rule_id"] == "KV-KEY-002" and f["resource"]["name"] == "hsm-a/bootstrap-1"
    )
    assert finding["status"] == "FAIL"
    assert finding["evidence"]["profile"] == "ed25519-signer"
    assert finding["evidence"]["profile_source"] == "policy"
    assert finding["evidence"]["profile_reason"] == "policy assigns vault 'hsm-*' key 'bootstrap-*'"


def test_kvaudit_profiles_lists_builtin_and_policy_profiles(kvaudit, tmp_path) -> None:
    text = kvaudit("profiles")
    assert text.returncode == 0
    for name in builtin_profiles():
        assert f"\n{name}  (built-in)" in text.stdout
    policy = tmp_path / "p.toml"
    policy.write_text(
        '[profiles.custom.mine]\nextends = "aes-kek"\n[[profiles.assign]]\nkey = "k*"\nprofile = "mine"\n'
    )
    data = json.loads(kvaudit("profiles", "--format", "json", "--policy", str(policy)).stdout)
    assert data["order"] == ["tag", "policy", "inference", "default"]
    mine = next(p for p in data["profiles"] if p["name"] == "mine")
    assert (mine["defined_in"], mine["kty"]) == ("policy", ["oct-HSM"])
    assert data["assignments"] == [{"vault": "*", "key": "k*", "profile": "mine"}]
    policy.write_text("[profiles.custom.mine]\nkty = 'RSA'\n")
    bad = kvaudit("profiles", "--policy", str(policy))
    assert bad.returncode == 2
    assert bad.stderr == f"kvaudit: error: {policy}: profile 'mine' field 'kty' must be a list\n"
