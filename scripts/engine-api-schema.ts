// Makes src/engine/api/schema.json from the Docker Engine API swagger shipped beside it: only what
// request validation needs (query parameters, body schemas and the definitions they reach), so the
// engine reads a small JSON file instead of parsing 450 KB of YAML (about two seconds) when it starts.
// Run after replacing the swagger: node scripts/engine-api-schema.ts
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const SWAGGER_PATH = fileURLToPath(new URL('../src/engine/api/docker-engine-api-v1.48.yaml', import.meta.url));
export const SCHEMA_PATH = fileURLToPath(new URL('../src/engine/api/schema.json', import.meta.url));

type Json = Record<string, unknown>;

const SCHEMA_KEYS = ['type', 'format', 'enum', 'minimum', 'maximum', '$ref'];

/** A swagger schema without documentation: the keys that say what a value may be. */
function trimSchema(schema: Json, refs: Set<string>): Json {
  const out: Json = {};
  for (const key of SCHEMA_KEYS) if (schema[key] !== undefined) out[key] = schema[key];
  if (typeof schema.$ref === 'string') refs.add(schema.$ref.replace('#/definitions/', ''));
  if (schema.properties) {
    out.properties = Object.fromEntries(Object.entries(schema.properties as Record<string, Json>).map(([name, s]) => [name, trimSchema(s, refs)]));
  }
  if (schema.additionalProperties && typeof schema.additionalProperties === 'object') out.additionalProperties = trimSchema(schema.additionalProperties as Json, refs);
  if (schema.items) out.items = trimSchema(schema.items as Json, refs);
  if (schema.allOf) out.allOf = (schema.allOf as Json[]).map((s) => trimSchema(s, refs));
  return out;
}

export function engineApiSchema(swagger: Json): Json {
  const refs = new Set<string>();
  const paths: Record<string, Record<string, Json>> = {};
  for (const [path, methods] of Object.entries(swagger.paths as Record<string, Record<string, Json>>)) {
    for (const [method, operation] of Object.entries(methods)) {
      const query: Json[] = [];
      let body: Json | undefined;
      for (const p of (operation.parameters ?? []) as Json[]) {
        if (p.in === 'query') query.push(Object.fromEntries(['name', 'type', 'format', 'enum'].filter((k) => p[k] !== undefined).map((k) => [k, p[k]])));
        if (p.in === 'body') body = trimSchema(p.schema as Json, refs);
      }
      (paths[path] ??= {})[method.toUpperCase()] = body ? { query, body } : { query };
    }
  }
  const definitions: Record<string, Json> = {};
  const all = swagger.definitions as Record<string, Json>;
  // Definitions reach others: follow the references until none is new.
  for (let pending = [...refs]; pending.length > 0;) {
    const found = new Set<string>();
    for (const name of pending) {
      if (definitions[name]) continue;
      definitions[name] = trimSchema(all[name], found);
    }
    pending = [...found].filter((name) => !definitions[name]);
  }
  return { info: { source: 'docker-engine-api-v1.48.yaml' }, paths, definitions: Object.fromEntries(Object.entries(definitions).sort(([a], [b]) => a.localeCompare(b))) };
}

export function renderEngineApiSchema(): string {
  return JSON.stringify(engineApiSchema(parse(readFileSync(SWAGGER_PATH, 'utf8')) as Json)) + '\n';
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(SCHEMA_PATH, renderEngineApiSchema());
}
