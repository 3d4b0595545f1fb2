"""Deferred imports for the table adapters.

PynamoDB and botocore are about a third of a handler's cold start. A service that needs them only inside its
functions binds the adapter module lazily, keeping full typing:

    if TYPE_CHECKING:
        from tickerleague.adapters.dynamodb import contests as repo
    else:
        repo = lazy_module("tickerleague.adapters.dynamodb.contests")

The module is really imported at its first attribute access (importlib's LazyLoader).
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def lazy_module(name: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ImportError(f"no module named {name!r}")
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module
