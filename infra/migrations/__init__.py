"""Versioned, idempotent data migrations (backfills) of the single table: `python -m infra.migrations`.

`m<NNNN>_<name>.py` modules, each a `Migration` (base.py); runner.py discovers them and runs the pending ones.
How to write, run, resume and verify one: docs/migrations.md.
"""
