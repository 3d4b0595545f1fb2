"""`python -m infra.migrations [run|status|plan]` against a deployed stage (`--env`), `make dev`'s DynamoDB Local
(`--local`) or any table (`--table`, `--endpoint`). `make migrate ENV=...`, `make migrate-local`; `make deploy` runs
`run` after `sam deploy`.

  run     every pending migration in id order (exit 0 when none is left pending, 3 when --max-pages stopped it)
  status  each migration: pending, running (segments done) or done (when, counts)
  plan    a dry run: per migration, how many items the transform would still change (writes nothing)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tomllib
from pathlib import Path
from typing import Any

from infra.migrations import runner

ENVIRONMENTS = ("dev", "staging", "prod")
LOCAL_REGION = "us-east-1"
SAMCONFIG = Path(__file__).resolve().parents[2] / "samconfig.toml"


def local_target() -> tuple[str, str]:
    """`make dev`'s table and DynamoDB Local endpoint (LOCAL_DDB_PORT, default 8000; infra/local/README.md)."""
    from infra.local.template import DEFAULT_PARAMETERS_FILE, load_settings

    table = load_settings(DEFAULT_PARAMETERS_FILE).physical_names.get("Table", "Table")
    endpoint = os.environ.get("LOCAL_DDB_ENDPOINT") or f"http://127.0.0.1:{os.environ.get('LOCAL_DDB_PORT', '8000')}"
    return table, endpoint


def deployed_region(env: str, samconfig: Path = SAMCONFIG) -> str:
    """AWS_REGION when set, else the region `sam deploy --config-env <env>` deploys to (samconfig.toml)."""
    if os.environ.get("AWS_REGION"):
        return os.environ["AWS_REGION"]
    config = tomllib.loads(samconfig.read_text(encoding="utf-8")) if samconfig.exists() else {}
    for section in (config.get(env, {}).get("deploy", {}), config.get("default", {}).get("global", {})):
        region = section.get("parameters", {}).get("region")
        if region:
            return str(region)
    return "us-east-1"


def make_client(region: str, endpoint: str | None, local: bool) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(retries={"max_attempts": 10, "mode": "adaptive"}, connect_timeout=5, read_timeout=30)
    extra: dict[str, Any] = {}
    if local:  # DynamoDB Local accepts any credentials; the local stack uses these too
        extra = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
    return boto3.client("dynamodb", region_name=region, endpoint_url=endpoint, config=config, **extra)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("command", nargs="?", default="run", choices=("run", "status", "plan"))
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--env", choices=ENVIRONMENTS, help="the stack tickerleague-<env>'s TableName output (or TABLE_NAME when set)"
    )
    where.add_argument("--local", action="store_true", help="make dev's DynamoDB Local (LOCAL_DDB_PORT)")
    where.add_argument("--table", help="this table name")
    parser.add_argument("--endpoint", help="DynamoDB endpoint URL (with --table)")
    parser.add_argument("--region", help="default: AWS_REGION, else samconfig.toml's region for --env, else us-east-1")
    parser.add_argument(
        "--segments",
        type=int,
        default=runner.DEFAULT_SEGMENTS,
        help="TotalSegments of a run that starts now (a resumed run keeps its own)",
    )
    parser.add_argument("--page-size", type=int, default=runner.DEFAULT_PAGE_SIZE, help="items per Scan page")
    parser.add_argument("--max-pages", type=int, help="stop after this many Scan pages (run again to resume)")
    parser.add_argument("--workers", type=int, help="threads scanning segments (default: one per segment)")
    args = parser.parse_args(argv)
    if args.segments < 1 or args.page_size < 1 or (args.max_pages is not None and args.max_pages < 1):
        parser.error("--segments, --page-size and --max-pages must be positive")

    endpoint = args.endpoint
    region = args.region or os.environ.get("AWS_REGION") or "us-east-1"
    if args.local:
        table, endpoint = local_target()
        region = LOCAL_REGION
    elif args.env:
        from infra.seed_env import table_name

        region = args.region or deployed_region(args.env)
        table = table_name(args.env, region)
    else:
        table = args.table
    client = make_client(region, endpoint, args.local)
    print(f"table {table}" + (f" at {endpoint}" if endpoint else f" in {region}"))

    if args.command == "status":
        for one in runner.status(client, table):
            print(
                json.dumps(
                    {
                        "id": one.migration_id,
                        "state": one.state,
                        "segmentsDone": one.segments_done,
                        "segments": one.segments,
                        "finishedAt": one.finished_at,
                        **one.counts,
                        "description": one.description,
                    }
                )
            )
        return 0
    if args.command == "plan":
        for migration in runner.discover():
            scanned, changes = runner.plan(client, table, migration, page_size=args.page_size)
            print(
                json.dumps(
                    {
                        "id": migration.id,
                        "candidates": scanned,
                        "wouldChange": changes,
                        "description": migration.description,
                    }
                )
            )
        return 0

    def report(outcome: runner.Outcome) -> None:
        print(
            json.dumps(
                {
                    "id": outcome.migration_id,
                    "state": outcome.state,
                    "segments": outcome.segments,
                    **outcome.counts.as_dict(),
                }
            )
        )

    try:
        outcomes = runner.run_pending(
            client,
            table,
            segments=args.segments,
            page_size=args.page_size,
            max_pages=args.max_pages,
            workers=args.workers,
            report=report,
        )
    except KeyboardInterrupt:
        print("stopped after the pages in progress were saved: run the same command again to resume")
        return 130
    if not outcomes:
        print("no migrations")
    return 3 if any(outcome.state == "partial" for outcome in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
