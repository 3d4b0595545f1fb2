"""Adapters at the edge: DynamoDB, quote providers, Stripe, SendGrid, EventBridge, Step Functions."""
