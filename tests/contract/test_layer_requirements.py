"""The CoreLayer ships exactly the runtime pins of pyproject.toml (boto3 aside: the Lambda runtime provides it)."""

from __future__ import annotations

import tomllib

from infra.build.routes import ROOT

RUNTIME_PROVIDED = {"boto3"}


def _pins(lines: list[str]) -> dict[str, str]:
    pins = {}
    for line in lines:
        requirement = line.split("#", 1)[0].strip()
        if requirement:
            name, _, version = requirement.partition("==")
            assert version, f"not an exact pin: {requirement!r}"
            pins[name.split("[", 1)[0].strip().lower()] = requirement
    return pins


def test_layer_requirements_mirror_the_project_dependencies() -> None:
    with (ROOT / "pyproject.toml").open("rb") as file:
        project = _pins(tomllib.load(file)["project"]["dependencies"])
    layer = _pins((ROOT / "layers/core/requirements.txt").read_text(encoding="utf-8").splitlines())
    expected = {name: pin for name, pin in project.items() if name not in RUNTIME_PROVIDED}
    assert layer == expected, "layers/core/requirements.txt must repeat pyproject.toml's runtime pins (minus boto3)"


def test_tools_are_pinned() -> None:
    tools = _pins((ROOT / "requirements-tools.txt").read_text(encoding="utf-8").splitlines())
    assert set(tools) == {"aws-sam-cli", "cfn-lint"}
