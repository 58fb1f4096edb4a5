from schema.build import SDL_PATH, build_schema, sdl


def test_committed_schema_matches_the_code() -> None:
    assert SDL_PATH.read_text(encoding="utf-8") == sdl(build_schema()), (
        "schema/schema.graphql is stale: run `grassroots schema --write` and commit it"
    )


def test_schema_links_federation_v2_7_and_keys_the_entities() -> None:
    text = sdl(build_schema())
    assert 'url: "https://specs.apollo.dev/federation/v2.7"' in text
    assert 'type Region implements Node @key(fields: "code")' in text
    assert '@key(fields: "id") @key(fields: "reference")' in text
    assert "type PageInfo @shareable" in text
