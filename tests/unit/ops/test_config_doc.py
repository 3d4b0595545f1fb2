"""docs/configuration.md is generated from config.py, template.yaml and samconfig.toml and cannot drift."""

from __future__ import annotations

import dataclasses

from tickerleague.config import Settings

from infra.build import gen_config_doc


def test_configuration_doc_is_current() -> None:
    stale = "docs/configuration.md is stale: run make config-doc"
    assert gen_config_doc.OUTPUT.read_text() == gen_config_doc.render(), stale


def test_every_settings_field_is_documented_with_its_variable() -> None:
    documented = {s.field: s for s in gen_config_doc.settings_from_config(gen_config_doc.CONFIG.read_text())}
    assert set(documented) == {f.name for f in dataclasses.fields(Settings)}
    for name, setting in documented.items():
        assert setting.env, f"{name}: no environment variable found"


def test_a_new_commented_setting_is_picked_up() -> None:
    source = gen_config_doc.CONFIG.read_text().replace(
        "    version: str\n", "    version: str\n    widget_count: int  # how many widgets\n").replace(
        "        version=", '        widget_count=_int("WIDGET_COUNT", 7),\n        version=')
    (widget,) = [s for s in gen_config_doc.settings_from_config(source) if s.field == "widget_count"]
    assert (widget.env, widget.default, widget.meaning) == (("WIDGET_COUNT",), "7", "how many widgets")


def test_secret_ids_are_marked_and_no_secret_value_is_a_setting() -> None:
    settings = gen_config_doc.settings_from_config(gen_config_doc.CONFIG.read_text())
    secret_ids = [s for s in settings if any(n.endswith("_SECRET_ID") for n in s.env)]
    assert secret_ids and all(s.secret.startswith("names a secret") for s in secret_ids)


def test_every_environment_sets_its_stage() -> None:
    environments = gen_config_doc._samconfig_overrides()
    assert list(environments) == ["dev", "staging", "prod"]
    for env, values in environments.items():
        assert values["Stage"] == env
        assert values["DeploymentType"] == ("AllAtOnce" if env == "dev" else "Canary10Percent5Minutes")
