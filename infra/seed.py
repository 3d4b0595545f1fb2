"""Local seed data, idempotent: the default admin, then demo contests and players.

`make dev` calls `run()` once the table and the other local resources exist, and `on_start()` after every start
(the local stack forgets its workflow executions when it stops; on_start re-arms them).
"""

from __future__ import annotations

import logging
import os

from tickerleague.clock import iso, utcnow

logger = logging.getLogger("tickerleague.seed")

DEFAULT_ADMIN_EMAIL = "admin@example.com"
DEFAULT_ADMIN_PASSWORD = "local-admin-password"


def seed_admin(email: str | None = None, password: str | None = None) -> str:
    """Create the admin account if it is missing (or make the existing account an active admin). Returns its id."""
    from tickerleague.adapters.dynamodb.users import UserItem, get_user, user_id_for_email
    from tickerleague.domain.users import normalize_email
    from tickerleague.services import auth

    address = normalize_email(email or os.environ.get("LOCAL_ADMIN_EMAIL", DEFAULT_ADMIN_EMAIL))
    secret = password or os.environ.get("LOCAL_ADMIN_PASSWORD", DEFAULT_ADMIN_PASSWORD)
    existing_id = user_id_for_email(address)
    if existing_id is None:
        result = auth.signup(address, secret, "Admin", utcnow(), role="admin")
        logger.info("seeded admin %s", address)
        return result.user.id
    user = get_user(existing_id, consistent=True)
    if user is not None and (user.role != "admin" or user.status != "active"):
        user.update(actions=[UserItem.role.set("admin"), UserItem.status.set("active"),
                             UserItem.updated_at.set(iso(utcnow()))])
    return existing_id


def run() -> None:
    """Everything a newcomer needs to see a living system."""
    admin_id = seed_admin()
    try:
        from infra.seed_demo import seed_demo
    except ImportError:
        return
    seed_demo(admin_id)


def on_start() -> None:
    """Re-arm what the local stack forgot across a restart (lifecycle executions of scheduled/active contests)."""
    try:
        from infra.seed_demo import rearm_lifecycles
    except ImportError:
        return
    rearm_lifecycles()
