"""Discover the migrations and run the pending ones: a parallel scan in bounded, resumable segments.

Items of the runner (in the table it migrates, docs/migrations.md):
  run record   PK MIGRATION#<id>  SK MIGRATION    status running|done, totalSegments, startedAt, finishedAt, counts
  checkpoint   PK MIGRATION#<id>  SK SEGMENT#<n>  lastKey (the scan's LastEvaluatedKey), done, counts
A migration is pending while its run record is not `done`. Each segment of the parallel scan
(Segment/TotalSegments) writes its checkpoint after every page it has applied, so a killed run resumes at the page
it was on: items of that page it had already migrated are then left alone by their transform (idempotent). The
number of segments is the run record's (set when the run started), whatever a resumed run asks for.
"""

from __future__ import annotations

import contextlib
import importlib
import pkgutil
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from infra.migrations.base import Item, Migration, Update

PACKAGE = "infra.migrations"
MODULE_NAME = re.compile(r"^m(\d{4})_[a-z0-9_]+$")
RECORD_SK = "MIGRATION"
DEFAULT_SEGMENTS = 4
DEFAULT_PAGE_SIZE = 100  # items evaluated per Scan page (before the filter): the checkpoint's granularity
CONFLICT_ATTEMPTS = 5  # fresh reads of one item a concurrent writer keeps changing before the run gives up


class MigrationError(Exception):
    """A migration cannot be discovered or applied."""


# ---------------------------------------------------------------------------------------------- discovery
def discover(package: str = PACKAGE) -> list[Migration]:
    """Every `m<NNNN>_*.py` module's MIGRATION, in id order; ids unique and equal to the module's number."""
    module = importlib.import_module(package)
    found: dict[str, Migration] = {}
    for info in pkgutil.iter_modules(module.__path__):
        match = MODULE_NAME.match(info.name)
        if match is None:
            continue
        migration = getattr(importlib.import_module(f"{package}.{info.name}"), "MIGRATION", None)
        if not isinstance(migration, Migration):
            raise MigrationError(f"{info.name} defines no MIGRATION = Migration(...)")
        if migration.id != match.group(1):
            raise MigrationError(f"{info.name} has id {migration.id!r}; its module name says {match.group(1)!r}")
        if migration.id in found:
            raise MigrationError(f"two migrations have id {migration.id}")
        found[migration.id] = migration
    return [found[key] for key in sorted(found)]


# ---------------------------------------------------------------------------------------------- (de)serializing
def _serializer() -> Any:
    from boto3.dynamodb.types import TypeSerializer

    return TypeSerializer()


def to_plain(raw: Mapping[str, Any]) -> Item:
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return {key: deserializer.deserialize(value) for key, value in raw.items()}


def _raw(value: Any) -> Any:
    return _serializer().serialize(value)


def record_key(migration_id: str) -> dict[str, Any]:
    return {"PK": {"S": f"MIGRATION#{migration_id}"}, "SK": {"S": RECORD_SK}}


def checkpoint_key(migration_id: str, segment: int) -> dict[str, Any]:
    return {"PK": {"S": f"MIGRATION#{migration_id}"}, "SK": {"S": f"SEGMENT#{segment}"}}


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# ---------------------------------------------------------------------------------------------- one item
def update_request(update: Update) -> dict[str, Any]:
    """The UpdateItem parameters (less TableName and Key) of an Update: SET/REMOVE under its conditions."""
    names: dict[str, str] = {"#pk": "PK"}
    values: dict[str, Any] = {}
    clauses: list[str] = []
    sets = []
    for index, (attribute, value) in enumerate(update.set.items()):
        names[f"#s{index}"] = attribute
        values[f":s{index}"] = _raw(value)
        sets.append(f"#s{index} = :s{index}")
    if sets:
        clauses.append("SET " + ", ".join(sets))
    removes = []
    for index, attribute in enumerate(update.remove):
        names[f"#r{index}"] = attribute
        removes.append(f"#r{index}")
    if removes:
        clauses.append("REMOVE " + ", ".join(removes))
    conditions = ["attribute_exists(#pk)"]
    for index, (attribute, value) in enumerate(update.expect.items()):
        names[f"#e{index}"] = attribute
        values[f":e{index}"] = _raw(value)
        conditions.append(f"#e{index} = :e{index}")
    for index, attribute in enumerate(update.expect_absent):
        names[f"#a{index}"] = attribute
        conditions.append(f"attribute_not_exists(#a{index})")
    request: dict[str, Any] = {
        "UpdateExpression": " ".join(clauses),
        "ConditionExpression": " AND ".join(conditions),
        "ExpressionAttributeNames": names,
    }
    if values:
        request["ExpressionAttributeValues"] = values
    return request


@dataclass
class Counts:
    scanned: int = 0  # items the scan returned (after the filter)
    updated: int = 0  # items this run changed
    conflicts: int = 0  # conditional updates refused because the item changed after it was read
    gone: int = 0  # items deleted between the scan and their update

    def add(self, other: Counts) -> None:
        self.scanned += other.scanned
        self.updated += other.updated
        self.conflicts += other.conflicts
        self.gone += other.gone

    def as_dict(self) -> dict[str, int]:
        return {"scanned": self.scanned, "updated": self.updated, "conflicts": self.conflicts, "gone": self.gone}


def migrate_item(client: Any, table: str, migration: Migration, raw: Mapping[str, Any]) -> Counts:
    """Apply the migration to one item as it was read (`raw`, a low-level attribute map): ONE conditional
    UpdateItem; when the item changed meanwhile, read it again (consistently) and ask the transform again."""
    counts = Counts(scanned=1)
    key = {"PK": raw["PK"], "SK": raw["SK"]}
    current: Mapping[str, Any] | None = raw
    for _ in range(CONFLICT_ATTEMPTS):
        assert current is not None
        update = migration.transform(to_plain(current))
        if update is None:
            return counts
        try:
            client.update_item(TableName=table, Key=key, **update_request(update))
        except client.exceptions.ConditionalCheckFailedException:
            counts.conflicts += 1
            current = client.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
            if current is None:
                counts.gone += 1
                return counts
            continue
        counts.updated += 1
        return counts
    raise MigrationError(f"migration {migration.id}: {key} kept changing under {CONFLICT_ATTEMPTS} attempts")


# ---------------------------------------------------------------------------------------------- a whole run
class PageBudget:
    """At most `pages` Scan pages over every segment of a run (None: no bound); thread-safe."""

    def __init__(self, pages: int | None) -> None:
        self._left = pages
        self._lock = threading.Lock()

    def stop(self) -> None:
        """No further page for anyone (Ctrl-C, or another segment failed): each finishes and saves its page."""
        with self._lock:
            self._left = 0

    def take(self) -> bool:
        with self._lock:
            if self._left is None:
                return True
            if self._left <= 0:
                return False
            self._left -= 1
            return True


@dataclass
class Outcome:
    migration_id: str
    state: str  # done (this run finished it) | already done | partial (the page budget ran out)
    counts: Counts = field(default_factory=Counts)
    segments: int = 0


def _scan_request(table: str, migration: Migration, segment: int, total: int, page_size: int) -> dict[str, Any]:
    request: dict[str, Any] = {
        "TableName": table,
        "Segment": segment,
        "TotalSegments": total,
        "Limit": page_size,
        "ConsistentRead": True,
        "FilterExpression": migration.filter.expression,
    }
    if migration.filter.names:
        request["ExpressionAttributeNames"] = dict(migration.filter.names)
    if migration.filter.values:
        request["ExpressionAttributeValues"] = {name: _raw(value) for name, value in migration.filter.values.items()}
    return request


def _save_checkpoint(
    client: Any, table: str, migration_id: str, segment: int, *, last_key: Mapping[str, Any] | None, counts: Counts
) -> bool:
    """Record a page as applied; False when the segment was already done (another runner finished it)."""
    expression = (
        "SET #done = :done, #at = :at ADD #pages :one, #scanned :scanned, #updated :updated, "
        "#conflicts :conflicts, #gone :gone"
    )
    values: dict[str, Any] = {
        ":done": {"BOOL": last_key is None},
        ":false": {"BOOL": False},
        ":at": {"S": now_iso()},
        ":one": {"N": "1"},
        ":scanned": {"N": str(counts.scanned)},
        ":updated": {"N": str(counts.updated)},
        ":conflicts": {"N": str(counts.conflicts)},
        ":gone": {"N": str(counts.gone)},
    }
    names = {
        "#done": "done",
        "#at": "checkpointAt",
        "#pages": "pages",
        "#scanned": "scanned",
        "#updated": "updated",
        "#conflicts": "conflicts",
        "#gone": "gone",
        "#last": "lastKey",
    }
    if last_key is None:
        expression += " REMOVE #last"
    else:
        expression = expression.replace("SET ", "SET #last = :last, ", 1)
        values[":last"] = {"M": dict(last_key)}
    try:
        client.update_item(
            TableName=table,
            Key=checkpoint_key(migration_id, segment),
            UpdateExpression=expression,
            ConditionExpression="attribute_not_exists(#done) OR #done = :false",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
    except client.exceptions.ConditionalCheckFailedException:
        return False
    return True


def _run_segment(
    client: Any, table: str, migration: Migration, segment: int, *, total: int, page_size: int, budget: PageBudget
) -> tuple[bool, Counts]:
    """Scan one segment from its checkpoint; (finished, what this call did)."""
    done_here = Counts()
    checkpoint = (
        client.get_item(TableName=table, Key=checkpoint_key(migration.id, segment), ConsistentRead=True).get("Item")
        or {}
    )
    if checkpoint.get("done", {}).get("BOOL"):
        return True, done_here
    start = checkpoint.get("lastKey", {}).get("M")
    request = _scan_request(table, migration, segment, total, page_size)
    while True:
        if not budget.take():
            return False, done_here
        if start:
            request["ExclusiveStartKey"] = start
        response = client.scan(**request)
        page = Counts()
        for raw in response.get("Items", []):
            page.add(migrate_item(client, table, migration, raw))
        last = response.get("LastEvaluatedKey")
        done_here.add(page)
        if not _save_checkpoint(client, table, migration.id, segment, last_key=last, counts=page) or last is None:
            return True, done_here
        start = last


def _start_record(client: Any, table: str, migration: Migration, segments: int) -> dict[str, Any]:
    """The run record, created (status running) if missing: the raw item as stored."""
    key = record_key(migration.id)
    stored = client.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
    if stored is not None:
        return dict(stored)
    item = {
        **key,
        "type": {"S": "migration"},
        "id": {"S": migration.id},
        "description": {"S": migration.description},
        "status": {"S": "running"},
        "totalSegments": {"N": str(segments)},
        "startedAt": {"S": now_iso()},
    }
    try:
        client.put_item(TableName=table, Item=item, ConditionExpression="attribute_not_exists(PK)")
    except client.exceptions.ConditionalCheckFailedException:  # another runner started it a moment ago
        return dict(client.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"])
    return item


def _finish_record(client: Any, table: str, migration_id: str, segments: int) -> Counts:
    """Sum the segments' counts into the run record and mark it done (once)."""
    total = Counts()
    for segment in range(segments):
        stored = (
            client.get_item(TableName=table, Key=checkpoint_key(migration_id, segment), ConsistentRead=True).get("Item")
            or {}
        )
        total.add(Counts(**{name: int(stored.get(name, {}).get("N", "0")) for name in Counts().as_dict()}))
    values = {":done": {"S": "done"}, ":running": {"S": "running"}, ":at": {"S": now_iso()}}
    values.update({f":{name}": {"N": str(number)} for name, number in total.as_dict().items()})
    names = {"#status": "status", **{f"#{name}": name for name in total.as_dict()}}
    with contextlib.suppress(client.exceptions.ConditionalCheckFailedException):  # another runner was first
        client.update_item(
            TableName=table,
            Key=record_key(migration_id),
            UpdateExpression="SET #status = :done, finishedAt = :at, "
            + ", ".join(f"#{name} = :{name}" for name in total.as_dict()),
            ConditionExpression="#status = :running",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
    return total


def run_migration(
    client: Any,
    table: str,
    migration: Migration,
    *,
    segments: int = DEFAULT_SEGMENTS,
    page_size: int = DEFAULT_PAGE_SIZE,
    budget: PageBudget | None = None,
    workers: int | None = None,
) -> Outcome:
    """Run one migration to the end (or until the page budget runs out): its segments in parallel threads."""
    record = _start_record(client, table, migration, segments)
    if record.get("status", {}).get("S") == "done":
        return Outcome(migration.id, "already done", segments=int(record["totalSegments"]["N"]))
    total = int(record["totalSegments"]["N"])  # a resumed run keeps the segmentation its checkpoints belong to
    budget = budget or PageBudget(None)
    counts = Counts()
    pool = ThreadPoolExecutor(max_workers=max(1, min(total, workers or total)))

    def segment_run(segment: int) -> tuple[bool, Counts]:
        try:
            return _run_segment(client, table, migration, segment, total=total, page_size=page_size, budget=budget)
        except BaseException:
            budget.stop()  # at once: the other segments take no further page
            raise

    futures = [pool.submit(segment_run, segment) for segment in range(total)]
    try:
        done_futures, _ = wait(futures, return_when=FIRST_EXCEPTION)
        for future in done_futures:
            future.result()  # a failed segment raises here at once, not after the segments before it finish
        results = [future.result() for future in futures]
    except BaseException:  # Ctrl-C or a failed segment: the others stop after the page they are on, checkpointed
        budget.stop()
        raise
    finally:
        pool.shutdown(wait=True)
    for _, segment_counts in results:
        counts.add(segment_counts)
    if not all(finished for finished, _ in results):
        return Outcome(migration.id, "partial", counts, total)
    _finish_record(client, table, migration.id, total)
    return Outcome(migration.id, "done", counts, total)


def run_pending(
    client: Any,
    table: str,
    migrations: Iterable[Migration] | None = None,
    *,
    segments: int = DEFAULT_SEGMENTS,
    page_size: int = DEFAULT_PAGE_SIZE,
    max_pages: int | None = None,
    workers: int | None = None,
    report: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Every pending migration in id order; stops after one that could not finish (a later one may rely on it).
    `max_pages` bounds the Scan pages of this whole invocation (run again to go on)."""
    budget = PageBudget(max_pages)
    outcomes: list[Outcome] = []
    for migration in discover() if migrations is None else migrations:
        outcome = run_migration(
            client, table, migration, segments=segments, page_size=page_size, budget=budget, workers=workers
        )
        outcomes.append(outcome)
        if report is not None:
            report(outcome)
        if outcome.state == "partial":
            break
    return outcomes


# ---------------------------------------------------------------------------------------------- read-only views
@dataclass(frozen=True)
class Status:
    migration_id: str
    description: str
    state: str  # pending | running | done
    segments_done: int = 0
    segments: int = 0
    finished_at: str | None = None
    counts: dict[str, int] = field(default_factory=dict)


def status(client: Any, table: str, migrations: Iterable[Migration] | None = None) -> list[Status]:
    found = []
    for migration in discover() if migrations is None else migrations:
        record = client.get_item(TableName=table, Key=record_key(migration.id), ConsistentRead=True).get("Item")
        if record is None:
            found.append(Status(migration.id, migration.description, "pending"))
            continue
        total = int(record["totalSegments"]["N"])
        done = 0
        for segment in range(total):
            checkpoint = (
                client.get_item(TableName=table, Key=checkpoint_key(migration.id, segment), ConsistentRead=True).get(
                    "Item"
                )
                or {}
            )
            done += bool(checkpoint.get("done", {}).get("BOOL"))
        counts = {name: int(record[name]["N"]) for name in Counts().as_dict() if name in record}
        found.append(
            Status(
                migration.id,
                migration.description,
                record["status"]["S"],
                done,
                total,
                record.get("finishedAt", {}).get("S"),
                counts,
            )
        )
    return found


def plan(client: Any, table: str, migration: Migration, *, page_size: int = DEFAULT_PAGE_SIZE) -> tuple[int, int]:
    """A dry run over the whole table, writing nothing: (items the filter returns, items the transform would
    change). After a migration is done the second number is 0 unless new old-shaped items were written since."""
    request = _scan_request(table, migration, 0, 1, page_size)
    del request["Segment"], request["TotalSegments"]
    scanned = changes = 0
    while True:
        response = client.scan(**request)
        for raw in response.get("Items", []):
            scanned += 1
            changes += migration.transform(to_plain(raw)) is not None
        if "LastEvaluatedKey" not in response:
            return scanned, changes
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
