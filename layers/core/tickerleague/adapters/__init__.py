"""Adapters implement the ports services declare: DynamoDB (`dynamodb/`), quote providers (`quotes/`), EventBridge,
Step Functions, Secrets Manager, Stripe (`stripe_gateway.py`), SendGrid, JWTs (`tokens.py`), Argon2 password hashing
and the health check's dependency probes."""
