"""What a migration is: an id, a description, the scan filter of the items it concerns and a pure per-item transform.

A migration module is `infra/migrations/m<NNNN>_<name>.py` defining `MIGRATION = Migration(...)` with
`id == "<NNNN>"`. The transform sees one item as plain Python (boto3's deserializer: numbers are Decimal, sets are
sets) and returns the `Update` to apply, or None when the item needs nothing (already migrated, or not one it
concerns). It must be pure: the runner calls it again on a fresh read when a concurrent writer changed the item,
and a second run calls it on items the first run migrated (it must return None then: that is what makes a
re-run a no-op).

The runner turns an `Update` into ONE conditional UpdateItem: `attribute_exists(PK)`, every `expect` attribute
still equal to the value the transform read, every `expect_absent` attribute still missing. A concurrent writer
therefore wins: its write makes the condition fail, the runner reads the item again and asks the transform again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Item = dict[str, Any]


@dataclass(frozen=True)
class ScanFilter:
    """A Scan FilterExpression narrowing the items the transform is shown (its placeholders are the migration's).

    It only saves bandwidth: the transform decides on its own whether an item needs a change."""

    expression: str
    names: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, Any] = field(default_factory=dict)  # plain Python, serialized by the runner


@dataclass(frozen=True)
class Update:
    """SET `set`, REMOVE `remove`; only if every `expect` attribute still has that value and every
    `expect_absent` attribute is still missing (the runner adds attribute_exists(PK))."""

    set: Mapping[str, Any] = field(default_factory=dict)
    remove: tuple[str, ...] = ()
    expect: Mapping[str, Any] = field(default_factory=dict)
    expect_absent: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.set and not self.remove:
            raise ValueError("an Update must set or remove something (return None for no change)")
        keys = {"PK", "SK"} & (set(self.set) | set(self.remove))
        if keys:
            raise ValueError(f"an Update cannot change the table's key {sorted(keys)}: re-keying is a put + delete")


@dataclass(frozen=True)
class Migration:
    id: str  # "0001": the module's number; migrations run in this order
    description: str
    filter: ScanFilter
    transform: Callable[[Item], Update | None]
