"""Step Functions: start and stop the contest lifecycle execution (one per published schedule).

Executions are named `<contestId>-v<scheduleVersion>`, so starting the same schedule twice (a retried publish) is a
no-op: AWS answers the same execution for the same name and input while it runs, and ExecutionAlreadyExists once it
has finished; both count as success here when the input is the same.

Every execution input carries `correlationId` (the current correlation id, or a new one): the ASL passes it to each
step, whose log lines then name the request that published the contest. It is not part of "the same input": a
retried publish comes with another id and still finds its execution.
"""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from typing import Any

from tickerleague import correlation
from tickerleague.clock import iso
from tickerleague.config import settings
from tickerleague.domain.contests import Contest

logger = logging.getLogger("tickerleague.stepfunctions")


@lru_cache(maxsize=4)
def _client(region: str) -> Any:
    import boto3
    from botocore.config import Config

    # AWS_ENDPOINT_URL_STEPFUNCTIONS (the local stack) is honoured by boto3 itself.
    return boto3.client("stepfunctions", region_name=region,
                        config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=2,
                                      read_timeout=5))


def client() -> Any:
    return _client(settings().region)


def lifecycle_input(contest: Contest) -> dict[str, Any]:
    """The execution input; the Wait states read the times (ISO 8601 seconds with Z) from it."""
    return {"contestId": contest.contest_id, "scheduleVersion": contest.schedule_version,
            "startsAt": iso(contest.starts_at), "endsAt": iso(contest.ends_at)}


def execution_arn_for(state_machine_arn: str, name: str) -> str:
    """arn:...:stateMachine:<machine> -> arn:...:execution:<machine>:<name>."""
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"


def _without_correlation(payload: Any) -> Any:
    if isinstance(payload, dict):
        return {key: value for key, value in payload.items() if key != correlation.ATTRIBUTE}
    return payload


def start_execution(state_machine_arn: str, name: str, payload: dict[str, Any]) -> str:
    """The execution's ARN. Idempotent for the same name and input (the correlation id aside); a different input
    under that name raises."""
    from botocore.exceptions import ClientError

    carried = {**payload, correlation.ATTRIBUTE: correlation.current() or correlation.new_id()}
    body = json.dumps(carried, separators=(",", ":"), sort_keys=True)
    sfn = client()
    try:
        response = sfn.start_execution(stateMachineArn=state_machine_arn, name=name, input=body)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ExecutionAlreadyExists":
            raise
        arn = execution_arn_for(state_machine_arn, name)
        existing = sfn.describe_execution(executionArn=arn)
        if _without_correlation(json.loads(existing.get("input") or "null")) != _without_correlation(payload):
            raise
        return arn
    return str(response["executionArn"])


def stop_execution(execution_arn: str, cause: str) -> None:
    """Stop an execution; one that has finished or does not exist is fine (the workflow's steps are conditional)."""
    from botocore.exceptions import ClientError

    try:
        client().stop_execution(executionArn=execution_arn, cause=cause[:256])
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        if code not in ("ExecutionDoesNotExist", "InvalidArn", "ValidationException"):
            raise
        logger.info("lifecycle execution not stopped", extra={"executionArn": execution_arn, "code": code})


class LifecycleWorkflows:
    """The lifecycle port backed by the state machine named in LIFECYCLE_STATE_MACHINE_ARN."""

    def __init__(self, state_machine_arn: str | None = None) -> None:
        self._arn = state_machine_arn

    @property
    def state_machine_arn(self) -> str:
        arn = self._arn or settings().lifecycle_state_machine_arn
        if not arn:
            raise RuntimeError("LIFECYCLE_STATE_MACHINE_ARN is not configured")
        return arn

    def start(self, contest: Contest) -> str:
        return start_execution(self.state_machine_arn, contest.execution_name(), lifecycle_input(contest))

    def stop(self, execution_arn: str, cause: str) -> None:
        """Best effort: the contest has already changed, and a running step reads that change and does nothing,
        so a failed stop must not turn a done cancel or reschedule into an error."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            stop_execution(execution_arn, cause)
        except (BotoCoreError, ClientError):
            logger.warning("lifecycle execution could not be stopped", extra={"executionArn": execution_arn},
                           exc_info=True)
