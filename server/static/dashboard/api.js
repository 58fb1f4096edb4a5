// The page's only data source: the hub's GraphQL API, by trusted-document hash, under the
// caller's token.
import { DOCUMENTS } from "./api.gen.js";
import { token } from "./auth.js";

export class ApiError extends Error {
  constructor(message, code, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

export async function query(operationName, variables = {}) {
  const response = await fetch("/graphql", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/graphql-response+json, application/json",
      authorization: `Bearer ${token()}`,
    },
    body: JSON.stringify({
      operationName,
      variables,
      extensions: { persistedQuery: { version: 1, sha256Hash: DOCUMENTS[operationName] } },
    }),
    credentials: "omit",
    cache: "no-store",
  });
  const body = await response.json().catch(() => null);
  const first = body?.errors?.[0];
  if (!response.ok || body === null || (first && !body.data)) {
    const code = first?.extensions?.code ?? `HTTP_${response.status}`;
    throw new ApiError(first?.message ?? `请求失败（${response.status}）`, code, response.status);
  }
  return body.data;
}
