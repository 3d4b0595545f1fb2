"""DynamoDB adapter: one table, PynamoDB models that own their key builders (see docs/technical-specification.md)."""
