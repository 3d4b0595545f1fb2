"""Adapters implement the ports services declare: DynamoDB, quote providers, EventBridge, Step Functions, secrets."""
