"""What fields do: the caller's scope, per-request loaders, the SQL of each domain."""
