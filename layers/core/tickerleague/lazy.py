"""Deferred imports for the table adapters.

PynamoDB and botocore are about a third of a handler's cold start. A service that needs them only inside its
functions binds the adapter module lazily, keeping full typing:

    if TYPE_CHECKING:
        from tickerleague.adapters.dynamodb import contests as repo
    else:
        repo = lazy_module("tickerleague.adapters.dynamodb.contests")

The real module is imported at the first attribute access. The import goes through `importlib.import_module`, which
holds the import lock, so threads racing to the first access all see a fully initialised module (importlib's own
LazyLoader does not promise that on Python 3.12).
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import Any


class _LazyModule(ModuleType):
    def __getattr__(self, attribute: str) -> Any:
        module = importlib.import_module(self.__name__)
        return getattr(module, attribute)


def lazy_module(name: str) -> ModuleType:
    loaded = sys.modules.get(name)
    return loaded if loaded is not None else _LazyModule(name)
