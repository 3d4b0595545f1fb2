"""The committed api-specification.json is exactly what the code generates, and is a valid OpenAPI 3.1 document."""

from __future__ import annotations

import json

import pytest

from infra.build.openapi import REGENERATE, SPEC_PATH, SpecError, generate, stale_diff


def test_committed_specification_is_current() -> None:
    try:
        fresh = generate()
    except SpecError as error:
        pytest.fail(f"the code cannot be turned into {SPEC_PATH.name}:\n{error}", pytrace=False)
    committed = SPEC_PATH.read_text(encoding="utf-8") if SPEC_PATH.exists() else ""
    assert committed == fresh, (
        f"{SPEC_PATH.name} is stale: regenerate it with `{REGENERATE}` and commit it.\n{stale_diff(committed, fresh)}"
    )


def test_committed_specification_is_valid_openapi_3_1() -> None:
    from openapi_spec_validator import validate

    document = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    assert document["openapi"].startswith("3.1")
    validate(document)
