"""Discovery of infra/migrations: every m<NNNN>_*.py module, ids unique, equal to the module's number, in order."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.migrations import runner
from infra.migrations.base import Migration


def test_the_project_migrations_are_found_in_id_order_with_unique_ids() -> None:
    migrations = runner.discover()
    ids = [migration.id for migration in migrations]
    assert ids[:2] == ["0001", "0002"]
    assert ids == sorted(set(ids))
    modules = sorted(p.stem for p in Path(runner.__file__).parent.glob("m[0-9][0-9][0-9][0-9]_*.py"))
    assert [name[1:5] for name in modules] == ids  # no module is skipped
    for migration in migrations:
        assert isinstance(migration, Migration)
        assert migration.description.strip()
        assert migration.filter.expression.strip()


def _package(tmp_path: Path, name: str, modules: dict[str, str]) -> str:
    root = tmp_path / name
    root.mkdir()
    (root / "__init__.py").write_text("")
    for module, body in modules.items():
        (root / f"{module}.py").write_text(textwrap.dedent(body))
    return name


MIGRATION_BODY = """
    from infra.migrations.base import Migration, ScanFilter
    MIGRATION = Migration(id={id!r}, description="d", filter=ScanFilter("attribute_exists(PK)"),
                          transform=lambda item: None)
"""


@pytest.fixture
def importable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [name for name in sys.modules if name.startswith("fake_migrations_")]:
        del sys.modules[name]


def test_order_is_by_id_and_other_modules_are_ignored(importable: Path) -> None:
    package = _package(
        importable,
        "fake_migrations_order",
        {
            "m0010_later": MIGRATION_BODY.format(id="0010"),
            "m0002_sooner": MIGRATION_BODY.format(id="0002"),
            "helpers": "X = 1\n",
        },
    )
    assert [migration.id for migration in runner.discover(package)] == ["0002", "0010"]


def test_an_id_that_is_not_the_module_number_is_refused(importable: Path) -> None:
    package = _package(importable, "fake_migrations_mismatch", {"m0003_x": MIGRATION_BODY.format(id="0004")})
    with pytest.raises(runner.MigrationError, match="module name says '0003'"):
        runner.discover(package)


def test_two_modules_with_one_number_are_refused(importable: Path) -> None:
    package = _package(
        importable,
        "fake_migrations_twice",
        {
            "m0005_a": MIGRATION_BODY.format(id="0005"),
            "m0005_b": MIGRATION_BODY.format(id="0005"),
        },
    )
    with pytest.raises(runner.MigrationError, match="two migrations have id 0005"):
        runner.discover(package)


def test_a_module_without_migration_is_refused(importable: Path) -> None:
    package = _package(importable, "fake_migrations_empty", {"m0001_nothing": "X = 1\n"})
    with pytest.raises(runner.MigrationError, match="defines no MIGRATION"):
        runner.discover(package)
