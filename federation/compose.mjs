#!/usr/bin/env node
// Compose the hub's subgraph schema with others into a Federation v2 supergraph, with
// @theguild/federation-composition (MIT; same rules and messages as Apollo's composition).
//
//   node federation/compose.mjs [--out supergraph.graphql]
//       [--hub-url http://127.0.0.1:8000/graphql] [--hub-sdl ../schema/schema.graphql]
//       [--fetch-hub-sdl]                          # ask the running hub's _service instead
//       [--population-url http://127.0.0.1:4001/graphql]
//       [--population-sdl population/schema.graphql]
//       [--subgraph name=url=path/to/schema.graphql ...]   # further subgraphs
//
// Without --fetch-hub-sdl the hub's SDL is the committed schema/schema.graphql. With it, the
// SDL is fetched from --hub-url with `{ _service { sdl } }`, authenticated by the gateway
// credential header `x-gateway-token: $HUB_GATEWAY_SECRET` (the hub lets that credential
// alone read `_service` and nothing else).
//
// Prints the supergraph SDL (or writes it to --out). On any composition error, prints every
// error to stderr and exits with status 1.

import { readFile, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parse } from 'graphql';
import { composeServices, compositionHasErrors } from '@theguild/federation-composition';

const here = dirname(fileURLToPath(import.meta.url));

const { values } = parseArgs({
  options: {
    out: { type: 'string' },
    'hub-url': { type: 'string', default: 'http://127.0.0.1:8000/graphql' },
    'hub-sdl': { type: 'string', default: resolve(here, '..', 'schema', 'schema.graphql') },
    'fetch-hub-sdl': { type: 'boolean', default: false },
    'population-url': { type: 'string', default: 'http://127.0.0.1:4001/graphql' },
    'population-sdl': { type: 'string', default: resolve(here, 'population', 'schema.graphql') },
    subgraph: { type: 'string', multiple: true, default: [] },
  },
});

async function fetchServiceSdl(url) {
  const secret = process.env.HUB_GATEWAY_SECRET;
  if (!secret) throw new Error('--fetch-hub-sdl needs HUB_GATEWAY_SECRET (the gateway credential)');
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-gateway-token': secret },
    body: JSON.stringify({ query: '{ _service { sdl } }' }),
  });
  const body = await response.json().catch(() => null);
  const sdl = body?.data?._service?.sdl;
  if (!response.ok || typeof sdl !== 'string') {
    throw new Error(`${url} did not give its SDL (HTTP ${response.status}): ${JSON.stringify(body)}`);
  }
  return sdl;
}

function subgraph(name, url, sdlText, source) {
  try {
    return { name, url, typeDefs: parse(sdlText) };
  } catch (error) {
    throw new Error(`${name} (${source}): ${error.message}`);
  }
}

async function main() {
  const hubSdl = values['fetch-hub-sdl']
    ? await fetchServiceSdl(values['hub-url'])
    : await readFile(values['hub-sdl'], 'utf8');
  const hubSource = values['fetch-hub-sdl'] ? values['hub-url'] : values['hub-sdl'];
  const populationSdl = await readFile(values['population-sdl'], 'utf8');
  const services = [
    subgraph('hub', values['hub-url'], hubSdl, hubSource),
    subgraph('population', values['population-url'], populationSdl, values['population-sdl']),
  ];
  for (const spec of values.subgraph) {
    // name=url=path: the name up to the first '=', the path after the last (URLs may hold '=').
    const first = spec.indexOf('=');
    const last = spec.lastIndexOf('=');
    const [name, url, path] = [spec.slice(0, first), spec.slice(first + 1, last), spec.slice(last + 1)];
    if (first < 1 || last <= first + 1 || !path) {
      throw new Error(`--subgraph takes name=url=path, not ${spec}`);
    }
    services.push(subgraph(name, url, await readFile(path, 'utf8'), path));
  }

  const result = composeServices(services);
  if (compositionHasErrors(result)) {
    console.error(`composition failed with ${result.errors.length} error(s):`);
    for (const error of result.errors) {
      const code = error.extensions?.code ? `[${error.extensions.code}] ` : '';
      console.error(`- ${code}${error.message}`);
    }
    process.exit(1);
  }
  if (values.out) {
    await writeFile(values.out, result.supergraphSdl + '\n');
    console.error(`supergraph of ${services.map((s) => s.name).join(', ')} written to ${values.out}`);
  } else {
    process.stdout.write(result.supergraphSdl + '\n');
  }
}

main().catch((error) => {
  console.error(`compose: ${error.message}`);
  process.exit(2);
});
