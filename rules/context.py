"""What a rule sees (:class:`RuleContext`) and how it states its outcome (:func:`verdict`).

Rules are vectorised: they compute one boolean column saying where the resource fails and
hand it to :func:`verdict`, which turns True/False/null into FAIL/PASS/UNKNOWN. Because a null
can only become UNKNOWN here, no rule can count an unknown value as compliant by accident; a
null applicability is UNKNOWN too, since whether a rule applies is itself a fact that can be
unknown.

The context hands out the inventory's tables through :mod:`rules.reads`, so the engine knows
what each rule read without the rule declaring it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kvaudit.rules.model import Status
from kvaudit.rules.reads import Reads, note, recording, tracked
from kvaudit.scanner.inventory import LOCATION_COLUMNS, Inventory
from kvaudit.scanner.lazy import lazy

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
else:
    np = lazy("numpy")
    pd = lazy("pandas")

#: ARM resource types for each logical resource kind, by vault kind.
_ARM_TYPES = {
    ("vault", "vault"): "Microsoft.KeyVault/vaults",
    ("vault", "managed_hsm"): "Microsoft.KeyVault/managedHSMs",
    ("key", "vault"): "Microsoft.KeyVault/vaults/keys",
    ("key", "managed_hsm"): "Microsoft.KeyVault/managedHSMs/keys",
    ("key_version", "vault"): "Microsoft.KeyVault/vaults/keys/versions",
    ("key_version", "managed_hsm"): "Microsoft.KeyVault/managedHSMs/keys/versions",
}

RESULT_COLUMNS = [
    "resource_id",
    "resource_type",
    "resource_name",
    "vault_id",
    "status",
    *LOCATION_COLUMNS,
    "profile",
]

#: Result columns the engine also routes by: the source of the row a result is about (for the
#: field table) and the ARM scope a grant reaches (for coverage gaps). Reports show both.
ROUTING_COLUMNS = ["source", "reach"]


@dataclass
class RuleContext:
    """The inventory, the rule's resolved parameters, the policy and the evaluation time.

    The engine passes ``now`` so that no rule reads the clock and results are reproducible.
    """

    inventory: Inventory
    params: dict[str, Any]
    now: pd.Timestamp
    policy: Any = None
    profiles: pd.DataFrame = field(default_factory=lambda: pd.DataFrame())
    #: Views shared by every rule of one evaluation (the engine passes the same dict to each
    #: context), so that joins such as :attr:`key_view` are computed once per scan, not per rule.
    #: Each entry keeps what its build read, replayed into every rule that uses the view.
    shared: dict[str, Any] = field(default_factory=dict)
    #: What computing :attr:`profiles` read (profiles come from keys, consumers and the policy).
    profile_reads: Reads = field(default_factory=Reads)

    def _shared(self, name: str, build: Any) -> Any:
        if name not in self.shared:
            with recording() as reads:
                value = build()
            self.shared[name] = (value, reads)
        value, reads = self.shared[name]
        note(reads)
        return value

    def __getattr__(self, name: str) -> pd.DataFrame:
        inventory = self.__dict__.get("inventory")
        if inventory is not None and name in inventory.tables:
            return inventory.tables[name]
        raise AttributeError(name)

    @property
    def vault_kind(self) -> pd.Series:
        """Vault id -> kind (vault | managed_hsm), for typing keys and versions."""

        def build() -> pd.Series:
            vaults = self.inventory.tables["vaults"]
            return pd.Series(vaults["kind"].to_numpy(), index=vaults["id"].to_numpy())

        return self._shared("vault_kind", build)

    def arm_type(self, logical: str, vault_ids: pd.Series) -> pd.Series:
        """ARM resource type of keys or versions, from the kind of the vault that holds them."""
        kinds = vault_ids.map(self.vault_kind).astype("object").fillna("vault")
        return kinds.map(lambda k: _ARM_TYPES[(logical, k)])

    @property
    def vault_types(self) -> pd.Series:
        """ARM type of each row of the vaults table (vaults or managedHSMs)."""
        return self._shared("vault_types", lambda: self.arm_type("vault", self.inventory.tables["vaults"]["id"]))

    @property
    def keys_with_profiles(self) -> pd.DataFrame:
        """Keys joined with their assigned profile (``profile`` null when none applies)."""
        return self._shared("keys_with_profiles", self._keys_with_profiles)

    def _keys_with_profiles(self) -> pd.DataFrame:
        keys = self.inventory.tables["keys"]
        note(self.profile_reads)
        if self.profiles.empty:
            out = keys.copy()
            out["profile"] = pd.Series([None] * len(keys), dtype="object")
            for column in ("profile_source", "profile_reason", "profile_unknown"):
                out[column] = pd.Series([None] * len(keys), dtype="object")
            return tracked("keys", out)
        merged = keys.merge(self.profiles, how="left", left_on="id", right_on="key_id", suffixes=("", "_p"))
        return tracked("keys", merged)

    @property
    def key_view(self) -> pd.DataFrame:
        """Keys with their profile, a display name, vault kind and ARM type: the frame most key
        rules start from. Shared across rules; rules must not modify it in place."""
        return self._shared("key_view", self._key_view)

    def _key_view(self) -> pd.DataFrame:
        view = self.keys_with_profiles.copy()
        view["display_name"] = view["vault_name"].fillna("?") + "/" + view["name"].fillna("?")
        view["arm_type"] = self.arm_type("key", view["vault_id"])
        view["vault_kind"] = view["vault_id"].map(self.vault_kind)
        return view

    def profile_spec(self, profile: object) -> dict[str, Any]:
        """The named profile's definition (built-in or from the policy), or {} when none applies."""
        from kvaudit.rules.profiles import all_profiles

        if not isinstance(profile, str):
            return {}
        return all_profiles(self.policy).get(profile, {})

    def key_verdict(self, view: pd.DataFrame, **kwargs: Any) -> pd.DataFrame:
        """:func:`verdict` for rows of :attr:`key_view`, with the profile in the evidence."""
        extra = dict(kwargs.pop("extra", {}) or {})
        extra.setdefault("profile", view["profile"])
        extra.setdefault("profile_source", view["profile_source"])
        extra.setdefault("profile_reason", view["profile_reason"])
        return verdict(
            view,
            resource_type=view["arm_type"],
            resource_name=view["display_name"],
            extra=extra,
            **kwargs,
        )


def _as_boolean(values: pd.Series | bool, index: pd.Index) -> pd.Series:
    if isinstance(values, pd.Series):
        return values.astype("boolean")
    return pd.Series([values] * len(index), index=index, dtype="boolean")


def verdict(
    frame: pd.DataFrame,
    *,
    fail: pd.Series | bool,
    evidence: Sequence[str],
    resource_type: str | pd.Series,
    applicable: pd.Series | bool = True,
    resource_id: pd.Series | None = None,
    resource_name: pd.Series | None = None,
    vault_id: pd.Series | None = None,
    reach: pd.Series | None = None,
    extra: dict[str, pd.Series] | None = None,
) -> pd.DataFrame:
    """Results for every row of ``frame``: FAIL where ``fail`` is True, PASS where False,
    UNKNOWN where null, NOT_APPLICABLE where ``applicable`` is False. Where ``applicable`` is
    null (it was computed from unknown data) the result is UNKNOWN, whatever ``fail`` says.

    ``evidence`` names columns of ``frame`` to record as the observed values; ``extra`` adds
    computed evidence columns. Both are stored as ``ev:<name>`` columns and only turned into
    dicts for the findings the report actually materialises. ``reach`` is the ARM scope a
    result covers beyond its own resource (a grant at a resource group reaches every vault in
    it; "/" reaches everything), so that the engine can tie it to coverage gaps below it.
    """
    index = frame.index
    failing = _as_boolean(fail, index)
    relevant = _as_boolean(applicable, index)
    status = np.where(
        relevant.isna().to_numpy(),
        Status.UNKNOWN.value,
        np.where(
            ~relevant.fillna(True).to_numpy(dtype=bool),
            Status.NOT_APPLICABLE.value,
            np.where(
                failing.isna().to_numpy(),
                Status.UNKNOWN.value,
                np.where(failing.fillna(False).to_numpy(dtype=bool), Status.FAIL.value, Status.PASS.value),
            ),
        ),
    )
    data: dict[str, Any] = {
        "resource_id": frame["id"] if resource_id is None else resource_id,
        "resource_type": resource_type,
        "resource_name": frame["name"] if resource_name is None else resource_name,
        "vault_id": (frame["vault_id"] if "vault_id" in frame else frame["id"]) if vault_id is None else vault_id,
        "status": status,
        **{column: frame[column] if column in frame else None for column in LOCATION_COLUMNS},
        "profile": frame["profile"] if "profile" in frame else None,
        "source": frame["source"] if "source" in frame else None,
        "reach": reach,
    }
    for col in evidence:
        # Evidence records what was observed; it is not what the verdict rests on, so reading it
        # is not a read the engine judges applicability or gaps by.
        data[f"ev:{col}"] = pd.DataFrame.__getitem__(frame, col)
    for name, series in (extra or {}).items():
        data[f"ev:{name}"] = series
    # One construction: adding columns one by one to a frame cost more than the verdict did.
    return pd.DataFrame(data, index=index).reset_index(drop=True)


def empty_result() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype="object") for c in RESULT_COLUMNS + ROUTING_COLUMNS})
