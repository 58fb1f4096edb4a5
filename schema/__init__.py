"""The GraphQL contract: Strawberry types, one module per domain, and the root types."""
