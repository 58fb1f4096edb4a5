// GraphQL Hive Gateway in front of the hub and the other subgraphs of a supergraph.
//
//   node federation/compose.mjs --out federation/supergraph.graphql
//   HUB_GATEWAY_SECRET=… HUB_JWT_SECRET=… \
//     federation/node_modules/.bin/hive-gateway supergraph federation/supergraph.graphql \
//       --config-path federation/gateway.config.mjs --host 127.0.0.1 --port 4000
//
// What it does:
// - forwards the caller's `Authorization` header to the hub only (not to other subgraphs),
//   and proves itself to the hub with the gateway credential `x-gateway-token`
//   (HUB_GATEWAY_SECRET; the hub refuses a wrong one, and a right one alone reads `_service`
//   only);
// - when it can check the hub's tokens (HUB_JWT_SECRET for HS256, or HUB_JWKS_URL), verifies
//   the bearer token itself and enforces the schema's @authenticated and @requiresScopes
//   (scopes from the token's `scope` claim) before calling any subgraph, with the hub's error
//   codes: UNAUTHENTICATED without a caller, FORBIDDEN without the scope. The hub enforces
//   everything again, whatever the gateway does.
import {
  createInlineSigningKeyProvider,
  createRemoteJwksSigningKeyProvider,
  defineConfig,
} from '@graphql-hive/gateway';
import { GraphQLError } from 'graphql';

const HUB = 'hub'; // the subgraph's name in the supergraph (compose.mjs)
const env = process.env;

const signingKeyProviders = [
  ...(env.HUB_JWT_SECRET ? [createInlineSigningKeyProvider(env.HUB_JWT_SECRET)] : []),
  ...(env.HUB_JWKS_URL ? [createRemoteJwksSigningKeyProvider({ jwksUri: env.HUB_JWKS_URL })] : []),
];

function refusal(message, code, { fieldNode, path }) {
  return new GraphQLError(message, {
    nodes: fieldNode ? [fieldNode] : undefined,
    path,
    extensions: { code },
  });
}

function holdsScopes(required, held) {
  // [[a, b], [c]] means (a and b) or c.
  return required.some((all) => all.every((scope) => held.includes(scope)));
}

// @envelop/generic-auth calls this for every field of the operation, with the directives of
// the field and of its parent type.
function validateUser(params) {
  const scopes = [params.typeScopes, params.fieldScopes].filter((s) => s?.length);
  const needsCaller = Boolean(params.fieldAuthArgs || params.typeAuthArgs || scopes.length);
  if (!needsCaller) return undefined;
  if (params.user == null) {
    return refusal('Send a bearer token: `Authorization: Bearer <JWT>`', 'UNAUTHENTICATED', params);
  }
  for (const required of scopes) {
    if (!holdsScopes(required, params.userScopes)) {
      const wanted = required.map((all) => all.join(' and ')).join(' or ');
      return refusal(`This field needs the scope ${wanted}`, 'FORBIDDEN', params);
    }
  }
  return undefined;
}

const authorization = signingKeyProviders.length
  ? {
      jwt: {
        signingKeyProviders,
        tokenVerification: {
          // The hub's lists (server/auth.py): HS256 only with the secret, the others only
          // with the JWKS, so no token is checked with the other kind of key.
          algorithms: [
            ...(env.HUB_JWT_SECRET ? ['HS256'] : []),
            ...(env.HUB_JWKS_URL ? ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384'] : []),
          ],
          ...(env.HUB_JWT_ISSUER ? { issuer: env.HUB_JWT_ISSUER } : {}),
          ...(env.HUB_JWT_AUDIENCE ? { audience: env.HUB_JWT_AUDIENCE } : {}),
          clockTolerance: 30,
        },
        // A malformed, expired or wrongly signed token counts as no token, as on the hub: no
        // caller. The operation goes on, and @authenticated fields are refused below.
        reject: { missingToken: false, invalidToken: false },
      },
      genericAuth: {
        mode: 'protect-granular',
        resolveUserFn: (context) => context.jwt?.payload ?? null,
        validateUser,
        // Refused fields are removed and answered null with an error; the rest still runs,
        // as the hub itself answers a refused field.
        rejectUnauthenticated: false,
      },
    }
  : {};

export const gatewayConfig = defineConfig({
  ...authorization,
  propagateHeaders: {
    fromClientToSubgraphs({ request, subgraphName }) {
      if (subgraphName !== HUB) return {};
      return {
        authorization: request.headers.get('authorization'),
        'x-gateway-token': env.HUB_GATEWAY_SECRET,
      };
    },
  },
  // The supergraph is static (composed ahead of time); do not poll for a new one.
  pollingInterval: 0,
  landingPage: false,
});
