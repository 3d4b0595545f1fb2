"""The local stack: the whole system from template.yaml on one machine, without Docker (see README.md)."""
