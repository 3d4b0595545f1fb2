"""Where `python -m infra.migrations` points: make dev's DynamoDB Local, a deployed stage's region."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.migrations.__main__ import deployed_region, local_target


def test_local_is_the_table_and_port_make_dev_uses(monkeypatch: pytest.MonkeyPatch) -> None:
    from infra.local.template import load_template
    from tests.support.table import TEMPLATE

    monkeypatch.delenv("LOCAL_DDB_ENDPOINT", raising=False)
    monkeypatch.delenv("LOCAL_DDB_PORT", raising=False)
    template = load_template(TEMPLATE)  # with infra/local/parameters.json, as make dev loads it
    assert local_target() == (template.physical_name(template.table_ids[0]), "http://127.0.0.1:8000")
    monkeypatch.setenv("LOCAL_DDB_PORT", "8123")
    assert local_target()[1] == "http://127.0.0.1:8123"


def test_a_stage_region_comes_from_samconfig_unless_aws_region_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    samconfig = tmp_path / "samconfig.toml"
    samconfig.write_text(
        '[default.global.parameters]\nregion = "eu-west-1"\n[prod.deploy.parameters]\nregion = "eu-central-1"\n'
    )
    monkeypatch.delenv("AWS_REGION", raising=False)
    assert deployed_region("prod", samconfig) == "eu-central-1"
    assert deployed_region("staging", samconfig) == "eu-west-1"
    monkeypatch.setenv("AWS_REGION", "ap-southeast-2")
    assert deployed_region("prod", samconfig) == "ap-southeast-2"
