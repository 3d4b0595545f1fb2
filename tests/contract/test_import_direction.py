"""The layer's imports run one way: functions -> http -> services -> domain, and services -> adapters (the ports).

Every `import` in layers/core/tickerleague is read with `ast` (those inside functions and under TYPE_CHECKING too: a
lazy import is still an arrow), and each arrow the wrong way is reported with its file and line.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "layers" / "core" / "tickerleague"

# What each layer must never import (by the top-level folder under tickerleague/).
FORBIDDEN: dict[str, frozenset[str]] = {
    "services": frozenset({"http"}),
    "http": frozenset({"adapters"}),
    "adapters": frozenset({"services", "http"}),
}
# domain/ is pure: the standard library, itself, the error classes, time formatting, and the package's data files.
DOMAIN_ALLOWED = frozenset({"tickerleague.domain", "tickerleague.errors", "tickerleague.clock", "tickerleague"})


def _layer(path: Path, package: Path) -> str:
    relative = path.relative_to(package)
    return relative.parts[0] if len(relative.parts) > 1 else ""


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
            if node.module == "tickerleague":  # `from tickerleague import services` names a layer too
                for alias in node.names:
                    yield node.lineno, f"tickerleague.{alias.name}"


def _domain_allows(module: str) -> bool:
    top = module.split(".", maxsplit=1)[0]
    if top in sys.stdlib_module_names or top == "__future__":
        return True
    if module == "tickerleague":
        return True
    return any(module == allowed or module.startswith(allowed + ".") for allowed in DOMAIN_ALLOWED - {"tickerleague"})


def wrong_way_arrows(package: Path = PACKAGE) -> list[str]:
    found: list[str] = []
    for path in sorted(package.rglob("*.py")):
        layer = _layer(path, package)
        where = path.relative_to(package.parent)
        for line, module in _imports(path):
            if layer == "domain":
                if not _domain_allows(module):
                    found.append(f"{where}:{line}: domain imports {module}")
                continue
            parts = module.split(".")
            if parts[0] != "tickerleague" or len(parts) < 2:
                continue
            if parts[1] in FORBIDDEN.get(layer, frozenset()):
                found.append(f"{where}:{line}: {layer} imports {module}")
    return found


def test_every_import_runs_the_right_way() -> None:
    arrows = wrong_way_arrows()
    assert not arrows, "imports against the layer direction:\n" + "\n".join(arrows)


@pytest.mark.parametrize(
    ("folder", "source", "wrong"),
    [
        ("services", "from tickerleague.http.principal import Principal\n", True),
        ("services", "def f():\n    from tickerleague.http import paging\n", True),
        ("http", "from tickerleague.adapters.secrets import cursor_key\n", True),
        ("http", "from tickerleague.services import orders\n", False),
        ("adapters", "import tickerleague.services.orders\n", True),
        ("adapters", "from tickerleague.domain.trading import Order\n", False),
        ("domain", "import boto3\n", True),
        ("domain", "from tickerleague.config import settings\n", True),
        ("domain", "from tickerleague import adapters\n", True),
        ("domain", "from decimal import Decimal\nfrom tickerleague.errors import Conflict\n", False),
    ],
)
def test_the_checker_sees_a_wrong_arrow(tmp_path: Path, folder: str, source: str, wrong: bool) -> None:
    package = tmp_path / "tickerleague"
    (package / folder).mkdir(parents=True)
    (package / folder / "module.py").write_text(source, encoding="utf-8")
    assert bool(wrong_way_arrows(package)) is wrong
