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
    assert "asyncio" not in loaded and "ssl" not in loaded  # live collection's event loop and TLS


def test_the_rule_listing_imports_neither_pandas_nor_the_azure_sdk_nor_jinja() -> None:
    """``kvaudit rules`` reads each rule's metadata where it is declared, beside its check, and
    evaluates nothing: pandas, numpy, the Azure SDK and the HTML templates stay unloaded."""
    for argv in (["rules"], ["rules", "--format", "json"]):
        loaded = _modules_after(
            "import contextlib, io\n"
            "import kvaudit.scanner.cli as cli\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            f"    code = cli.main({argv!r})\n"
            "assert code == 0, code"
        )
        assert not {"pandas", "numpy", "azure", "jinja2", "asyncio", "ssl"} & set(loaded), argv
        assert "kvaudit" in loaded


def test_the_rule_listing_is_the_catalogue_the_engine_runs() -> None:
    """One definition of the rule metadata: the listing and a report's catalogue agree,
    severities and parameters as the policy sets them included."""
    from kvaudit.reports.catalogue import catalogue
    from kvaudit.reports.model import rule_catalogue
    from kvaudit.rules.engine import evaluate
    from kvaudit.rules.registry import all_rules
    from kvaudit.scanner.inventory import Inventory
    from kvaudit.scanner.policy import Policy

    policy = Policy(severity_overrides={"KV-REC-001": "low"}, disabled={"KV-NET-001"})
    listed = catalogue((r, *r.settings(policy)) for r in all_rules() if r.id not in policy.disabled)
    assert listed == rule_catalogue(evaluate(Inventory(), policy).outcomes)
    assert next(e for e in listed if e["id"] == "KV-REC-001")["severity"] == "low"
    assert all(e["id"] != "KV-NET-001" for e in listed)


def test_a_lazy_module_is_imported_on_first_use_only() -> None:
    loaded = _modules_after(
        "from kvaudit.scanner.lazy import lazy\n"
        "fr = lazy('fractions')\n"
        "assert 'fractions' not in sys.modules\n"
        "assert fr.Fraction(1, 2) == 0.5 and 'fractions' in sys.modules\n"
        "assert fr.Fraction is sys.modules['fractions'].Fraction"
    )
    assert "fractions" in loaded
