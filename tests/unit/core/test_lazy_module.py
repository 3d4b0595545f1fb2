"""tickerleague.lazy: deferred imports that stay correct when threads race to the first access."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from tickerleague.lazy import lazy_module


def test_nothing_is_imported_until_first_use_and_threads_all_see_the_whole_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "slow_adapter_for_lazy_test.py").write_text(
        "import time\nFIRST = 1\ntime.sleep(0.3)  # a slow import: racing threads must wait for it\nLAST = 2\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    module = lazy_module("slow_adapter_for_lazy_test")
    assert "slow_adapter_for_lazy_test" not in sys.modules
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda _: module.LAST, range(32)))
    assert results == [2] * 32
    assert "slow_adapter_for_lazy_test" in sys.modules
    sys.modules.pop("slow_adapter_for_lazy_test", None)


def test_an_already_imported_module_is_returned_as_is() -> None:
    import json

    assert lazy_module("json") is json


def test_a_missing_module_fails_at_first_use() -> None:
    module = lazy_module("no_such_module_for_lazy_test")
    with pytest.raises(ModuleNotFoundError):
        _ = module.anything
