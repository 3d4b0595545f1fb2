"""How the local stack runs moto: in-process ``mock_aws``, with DynamoDB passed through to DynamoDB Local.

Why in-process rather than moto's server: handlers then see exactly the environment they see in AWS
(no ``AWS_ENDPOINT_URL_SQS``/``..._STEPFUNCTIONS``/... variables, no endpoint configuration in code):
boto3 is intercepted inside the process. Only DynamoDB gets an endpoint variable,
``AWS_ENDPOINT_URL_DYNAMODB``, because it is served by DynamoDB Local, and moto's ``passthrough`` lets those
calls reach it. The cost: moto's queues and executions are visible only inside the stack's process
(use the HTTP API or DynamoDB to look at state from outside).
"""

from __future__ import annotations

from moto import mock_aws
from moto.core.config import DefaultConfig
from moto.core.models import MockAWS

MOTO_CONFIG: DefaultConfig = {
    "stepfunctions": {"execute_state_machine": True},
    "lambda": {"use_docker": False},
    "core": {
        "mock_credentials": False,
        "passthrough": {"services": ["dynamodb"], "urls": []},
        "reset_boto3_session": True,
    },
}


def local_moto() -> MockAWS:
    """A ``mock_aws`` configured for the local stack (call ``start()``/``stop()``, or use ``with``)."""
    return mock_aws(config=MOTO_CONFIG)
