from tests.conftest import Hub


async def test_smoke(hub: Hub) -> None:
    body = await hub.query("""{ viewer { subject roles jurisdictions { code name fullName } }
      region(code: "341126") { code fullName level access parent { code access name }
        ancestors { code } children(first: 3) { totalCount edges { node { code name } } pageInfo { hasNextPage endCursor } }
        organizations(first: 2) { totalCount edges { node { name kind leader { name phone } parent { name } } } }
        serviceRequests(first: 2) { totalCount edges { node { reference title status requester { name phone } handledBy { name } history { action toStatus at } } } }
        participationEvents(first: 2) { totalCount edges { node { title kind participantsByGroup { key label count } resolutions { text status } organizer { name } } } }
      }
      serviceRequests(first: 2, under: "341126101") { totalCount edges { cursor node { id reference submittedAt } } }
    }""")
    print(body)
    assert "errors" not in body
