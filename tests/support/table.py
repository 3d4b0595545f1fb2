"""Build a test table from the `Table` resource of template.yaml, so tests and deploys cannot drift."""

from __future__ import annotations

from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"


def table_kwargs(table_name: str, template: Path = TEMPLATE) -> dict[str, Any]:
    from infra.local.template import table_create_kwargs

    return table_create_kwargs(template, table_name)


def create_table(client: Any, table_name: str) -> None:
    client.create_table(**table_kwargs(table_name))
    client.get_waiter("table_exists").wait(TableName=table_name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
