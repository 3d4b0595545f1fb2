"""HTTP foundation: resolver factory, error envelope, principal, cursors, validation."""
