"""Leaderboards on the wire: standings rows, the caller's standing, and their value history.

Money is a decimal string to the cent (`"100000.00"`), `returnPct` a decimal string to 4 dp (`"1.2345"`), times
ISO 8601 UTC with a Z. `asOf` is null only before a contest's first standings are computed.
"""

from __future__ import annotations

from pydantic import Field

from tickerleague.domain.ranking import HistoryPoint as StoredPoint
from tickerleague.domain.ranking import Row
from tickerleague.http.validation import WireModel
from tickerleague.services.leaderboard_reads import BoardView, MyStanding

MONEY = r"^-?\d+\.\d{2}$"
PERCENT = r"^-?\d+\.\d{4}$"


class LeaderboardRow(WireModel):
    rank: int = Field(ge=1, description="1 + the number of entries with a strictly greater totalValue")
    entryId: str
    userId: str
    displayName: str
    totalValue: str = Field(pattern=MONEY, examples=["100000.00"])
    returnPct: str = Field(pattern=PERCENT, examples=["1.2345"])

    @classmethod
    def of(cls, row: Row) -> LeaderboardRow:
        rank, entry_id, user_id, display_name, total_value, return_pct = row
        return cls(rank=rank, entryId=entry_id, userId=user_id, displayName=display_name, totalValue=total_value,
                   returnPct=return_pct)


class Leaderboard(WireModel):
    asOf: str | None = Field(description="when these standings were computed; null before the first computation")
    final: bool = Field(description="true once the contest has ended: these standings never change again")
    items: list[LeaderboardRow]
    nextCursor: str | None

    @classmethod
    def of(cls, view: BoardView) -> Leaderboard:
        return cls(asOf=view.as_of, final=view.final, items=[LeaderboardRow.of(row) for row in view.rows],
                   nextCursor=view.next_cursor)


class MyStandingView(WireModel):
    rank: int = Field(ge=1)
    totalValue: str = Field(pattern=MONEY, examples=["100000.00"])
    returnPct: str = Field(pattern=PERCENT, examples=["1.2345"])
    outOf: int = Field(ge=1, description="how many entries are ranked")
    asOf: str | None

    @classmethod
    def of(cls, standing: MyStanding) -> MyStandingView:
        return cls(rank=standing.rank, totalValue=standing.total_value, returnPct=standing.return_pct,
                   outOf=standing.out_of, asOf=standing.as_of)


class HistoryPointView(WireModel):
    at: str
    totalValue: str = Field(pattern=MONEY, examples=["100000.00"])
    returnPct: str = Field(pattern=PERCENT, examples=["1.2345"])
    rank: int = Field(ge=1)


class PortfolioHistory(WireModel):
    items: list[HistoryPointView] = Field(description="one point per standings computed, oldest first")

    @classmethod
    def of(cls, points: list[StoredPoint]) -> PortfolioHistory:
        return cls(items=[HistoryPointView(at=point.at, totalValue=point.total_value, returnPct=point.return_pct,
                                           rank=point.rank) for point in points])
