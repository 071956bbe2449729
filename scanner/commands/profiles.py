"""``kvaudit profiles``: list the key-purpose profiles (built-in and the policy's own) and how
keys get them, so that a user can check a tag or a policy assignment before a scan."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--policy", type=Path, help="policy file (TOML) whose custom profiles and assignments to include"
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")


def catalogue(policy: Any) -> dict[str, Any]:
    """Profiles, where each is defined, the tag that selects them and the policy's assignments."""
    from kvaudit.rules.profiles import all_profiles, profile_sources

    sources = profile_sources(policy)
    profiles = [
        {"name": name, "defined_in": sources.get(name, "built-in"), **spec}
        for name, spec in sorted(all_profiles(policy).items())
    ]
    return {
        "tag": policy.profile_tag,
        "order": ["tag", "policy", "inference", "default"],
        "profiles": profiles,
        "assignments": [{"vault": a.vault, "key": a.key, "profile": a.profile} for a in policy.assignments],
    }


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value))
    if isinstance(value, dict):
        return ", ".join(f"{k} = {v}" for k, v in value.items())
    return str(value)


def run(args: argparse.Namespace) -> int:
    from kvaudit.scanner.policy import Policy, load

    policy = load(args.policy) if args.policy else Policy()
    data = catalogue(policy)
    if args.format == "json":
        print(json.dumps(data, indent=1))
        return 0
    print(f"A key's profile comes from its tag {data['tag']!r}, then the policy's assignments, then inference.")
    for profile in data["profiles"]:
        print(f"\n{profile['name']}  ({profile['defined_in']})")
        for field, value in profile.items():
            if field not in ("name", "defined_in"):
                print(f"  {field:<26} {_text(value)}")
    if data["assignments"]:
        print("\npolicy assignments (first match wins):")
        for entry in data["assignments"]:
            print(f"  vault {entry['vault']!r} key {entry['key']!r} -> {entry['profile']}")
    return 0
