"""Structured JSON logs (Powertools Logger), set up once for every function: HTTP handlers and jobs alike.

The rest of the package logs through standard loggers named `tickerleague.<module>`; they propagate to this one,
so their lines come out as JSON with their `extra=` fields. Nothing logs request bodies, headers or tokens.
Every line carries the current correlation id as `correlation_id` (tickerleague/correlation.py), when there is one.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger

from tickerleague.correlation import LogFilter

logger = Logger(service="tickerleague", use_rfc3339=True)
logger.registered_handler.addFilter(LogFilter())
