"""Storage: the asyncpg pool and roles, embedded PostgreSQL, migrations, imports and demo data."""
