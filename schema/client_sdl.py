"""`schema/schema.client.graphql`: the subgraph SDL with the directive definitions that plain
graphql-js tools (codegen, editors, linters) need to accept it (DESIGN.md §8, schema
visibility). The subgraph SDL itself, `schema/schema.graphql`, stays as composition wants
it; this file is generated beside it and drift-tested like it."""

from __future__ import annotations

from pathlib import Path

CLIENT_SDL_PATH = Path(__file__).parent / "schema.client.graphql"

# The Apollo federation v2.7 definitions of what `schema.graphql` imports and uses.
DIRECTIVES = """\
# Generated from schema/schema.graphql by `grassroots schema --write`; do not edit.
# For client tools: the federation directives the subgraph SDL uses, declared.

directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) repeatable on SCHEMA

scalar link__Import

enum link__Purpose {
  SECURITY
  EXECUTION
}

directive @key(fields: federation__FieldSet!, resolvable: Boolean = true) repeatable on OBJECT | INTERFACE

directive @shareable repeatable on OBJECT | FIELD_DEFINITION

directive @authenticated on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM

directive @requiresScopes(scopes: [[federation__Scope!]!]!) on FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM

scalar federation__FieldSet

scalar federation__Scope

"""


def client_sdl(subgraph_sdl: str) -> str:
    return DIRECTIVES + subgraph_sdl
