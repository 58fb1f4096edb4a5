"""Per-request DataLoaders, created lazily on the context (`ctx.loader(XLoader, …)`)."""
