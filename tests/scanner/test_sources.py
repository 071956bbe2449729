"""Source dispatch: every kind reaches its loader, and parallel loading equals sequential."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from kvaudit.scanner import sources
from kvaudit.scanner.errors import InputError
from tests.conftest import REPO

FIXTURES = REPO / "examples" / "iac"


def _corpus(tmp_path: Path, copies: int) -> Path:
    for i in range(copies):
        for kind in ("arm", "bicep", "terraform"):
            for path in (FIXTURES / kind).rglob("*"):
                rel = path.relative_to(FIXTURES)
                if path.is_file() and path.name != "plan.json":
                    target = tmp_path / f"c{i}" / rel
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy(path, target)
    return tmp_path


def test_parallel_loading_matches_sequential_loading(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path, 3)
    files = [p for p in corpus.rglob("*") if p.suffix in {".tf", ".bicep", ".json"}]
    assert len(files) >= sources.PARALLEL_MIN_FILES
    parallel = sources.load_sources([str(corpus)], corpus)
    buckets: dict[str, list[Path]] = {}
    for path in sorted(corpus.rglob("*")):
        if path.suffix == ".tf":
            buckets.setdefault("terraform", []).append(path)
        elif path.suffix == ".bicep":
            buckets.setdefault("bicep", []).append(path)
        elif path.suffix == ".json":
            buckets.setdefault("arm", []).append(path)
    expected = {}
    for kind in ("arm", "bicep", "terraform"):
        inventory, _ = sources._load_kind(kind, buckets[kind], corpus)
        for table, frame in inventory.tables.items():
            expected.setdefault(table, []).append(frame)
    for table, frames in expected.items():
        want = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) else frames[0]
        want = want.drop_duplicates(subset=["id"]) if table != "collection_errors" else want
        got = parallel.inventory.tables[table]
        assert sorted(got["id"].dropna()) == sorted(want["id"].dropna()), table


def test_errors_survive_the_process_boundary() -> None:
    import pickle

    error = InputError("main.tf", "invalid HCL: unexpected token", 3, 7)
    copy = pickle.loads(pickle.dumps(error))
    assert str(copy) == "main.tf:3:7: invalid HCL: unexpected token"
    assert (copy.origin, copy.line, copy.column) == ("main.tf", 3, 7)
