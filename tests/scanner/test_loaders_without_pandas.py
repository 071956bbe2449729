"""A loader process parses IaC without importing pandas.

The IaC gate forks its loaders before the main process imports pandas, so that parsing and the
import overlap; a loader that imported pandas itself would pay the import again and erase the
gain. Each loader runs here in a fresh interpreter, and the test reads ``sys.modules`` after it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "iac"

_PROBE = """
import json, sys
from pathlib import Path
from kvaudit.scanner.inventory import PendingInventory
from kvaudit.scanner.sources import _load_kind_rows
kind, root, *files = sys.argv[1:]
loaded, problems = _load_kind_rows(kind, [Path(f) for f in files], Path(root))
print(json.dumps({
    "pending": isinstance(loaded, PendingInventory),
    "problems": [str(p) for p in problems],
    "pandas": "pandas" in sys.modules,
}))
"""


@pytest.mark.parametrize(
    ("kind", "files"),
    [
        ("terraform", ["terraform/vault_compliant/main.tf", "terraform/hsm_compliant/main.tf"]),
        ("bicep", ["bicep/misconfigured/main.bicep"]),
        ("arm", ["arm/misconfigured/azuredeploy.json"]),
    ],
)
def test_a_loader_process_sends_rows_without_importing_pandas(kind: str, files: list[str]) -> None:
    paths = [str(EXAMPLES / f) for f in files]
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, kind, str(EXAMPLES), *paths],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    answer = json.loads(done.stdout)
    assert answer == {"pending": True, "problems": [], "pandas": False}
