"""Use cases, one module per capability. They take their ports (repositories, providers, clocks) as arguments."""
