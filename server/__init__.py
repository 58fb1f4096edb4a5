"""HTTP side of Grassroots Hub: the Starlette app, settings, auth, routes and the CLI."""
