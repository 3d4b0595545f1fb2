"""Pure domain code: no I/O, no boto3."""
