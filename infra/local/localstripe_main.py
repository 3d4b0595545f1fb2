"""Run localstripe on one address, with its state in one file (``python infra/local/localstripe_main.py ...``).

Runs under ``.localstripe-venv`` (not the app's venv: localstripe pulls aiohttp and newer pins), so it imports only
localstripe and the standard library. Three changes to ``python -m localstripe``: it listens on ``--host`` only
(localstripe itself binds every interface), its store lives in ``--state-file`` (localstripe writes a fixed
``/tmp/localstripe.pickle``, which two stacks - ``make dev`` and a test - would share), or only in memory, and
``POST /v1/payment_intents/{id}/confirm`` takes a ``payment_method`` as Stripe's does (localstripe answers that with a
500 "Not implemented", so a client paying in one call, the way Stripe.js and most examples do, could not pay locally).
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
    from localstripe import resources

    _confirm_accepts_payment_method(resources)
    from localstripe import server  # builds its routes from resources.extra_apis when imported

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


CONFIRM_ROUTE = ("POST", "/v1/payment_intents/{id}/confirm")


def _confirm_accepts_payment_method(resources: Any) -> None:
    """Confirm with ``payment_method`` does what Stripe does: set it on the PaymentIntent, then confirm."""
    intents = resources.PaymentIntent
    plain_confirm = intents._api_confirm

    def confirm(id: str, payment_method: str | None = None, **kwargs: Any) -> Any:
        if payment_method is not None:
            intents._api_update(id, payment_method=payment_method)
        return plain_confirm(id, **kwargs)

    resources.extra_apis[:] = [
        (method, url, confirm if (method, url) == CONFIRM_ROUTE else handler)
        for method, url, handler in resources.extra_apis
    ]


if __name__ == "__main__":
    main()
