"""Run localstripe on one address, with its state in one file (``python infra/local/localstripe_main.py ...``).

Runs under ``.localstripe-venv`` (not the app's venv: localstripe pulls aiohttp and newer pins), so it imports only
localstripe and the standard library. Two changes to ``python -m localstripe``: it listens on ``--host`` only
(localstripe itself binds every interface), and its store lives in ``--state-file`` (localstripe writes a fixed
``/tmp/localstripe.pickle``, which two stacks - ``make dev`` and a test - would share), or only in memory.
"""

from __future__ import annotations

import argparse
import pickle
from pathlib import Path
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--state-file", type=Path, default=None, help="keep the store here (none: memory only)")
    args = parser.parse_args()

    from aiohttp import web
    from localstripe import resources, server

    state_file: Path | None = args.state_file

    def load(store: Any) -> None:
        if state_file is not None and state_file.exists():
            with state_file.open("rb") as handle:
                old = pickle.load(handle)  # nosec B301 - the state file this process wrote under .local/
            store.clear()
            store.update(old)

    def dump(store: Any) -> None:
        if state_file is None:
            return
        tmp = state_file.with_suffix(".tmp")
        with tmp.open("wb") as handle:
            pickle.dump(store, handle, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(state_file)

    resources.Store.try_load_from_disk = load
    resources.Store.dump_to_disk = dump
    resources.store.try_load_from_disk()
    web.run_app(server.app, host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
