"""Writes: one module per domain, each action checked in code and again by the database."""
