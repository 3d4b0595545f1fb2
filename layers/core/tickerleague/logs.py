"""Structured JSON logs (Powertools Logger), set up once for every function: HTTP handlers and jobs alike.

The rest of the package logs through standard loggers named `tickerleague.<module>`; they propagate to this one,
so their lines come out as JSON with their `extra=` fields. Nothing logs request bodies, headers or tokens.
Every line carries the current correlation id as `correlation_id` (tickerleague/correlation.py), when there is one,
and the Lambda function's name as `function_name` (the key the runbooks' Logs Insights queries filter on).
"""

from __future__ import annotations

import logging
import os

from aws_lambda_powertools import Logger

from tickerleague.correlation import LogFilter


class FunctionName(logging.Filter):
    """`function_name` on every line: Lambda sets AWS_LAMBDA_FUNCTION_NAME (Powertools adds it only under its
    `inject_lambda_context` decorator, which our entry points do not use)."""

    def filter(self, record: logging.LogRecord) -> bool:
        name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        if name and not hasattr(record, "function_name"):
            record.function_name = name
        return True


logger = Logger(service="tickerleague", use_rfc3339=True)
logger.registered_handler.addFilter(LogFilter())
logger.registered_handler.addFilter(FunctionName())
