"""Start-up stays light: the IaC gate and ``--version`` do not pay for pandas or the Azure SDK."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO


def _modules_after(code: str) -> list[str]:
    probe = f"import sys\n{code}\nprint(sorted({{m.split('.')[0] for m in sys.modules}}))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1].replace("'", '"'))


def test_version_and_the_parser_import_neither_pandas_nor_the_azure_sdk() -> None:
    loaded = _modules_after(
        "import kvaudit.scanner.cli as cli\n"
        "cli.build_parser()\n"
        "try:\n    cli.main(['--version'])\nexcept SystemExit:\n    pass"
    )
    assert "pandas" not in loaded and "numpy" not in loaded and "azure" not in loaded
