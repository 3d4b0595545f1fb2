"""Who is calling, as services see it: the user, their role and their session (the edge builds it from a token)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    user_id: str
    role: str
    session_id: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"
