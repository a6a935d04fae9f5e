// Makes, from the Docker Engine API swagger shipped in src/engine/api/:
//  - schema.json: only what request validation needs (query parameters, body schemas and the
//    definitions they reach), so the engine never parses 450 KB of YAML (about two seconds);
//  - validators.js: the JSON bodies' validators, compiled by Ajv ahead of time (compiling the create
//    request's schema takes the better part of a second: no request should wait for that). Plain
//    JavaScript, with validators.d.ts beside it: stripping types from 300 KB would cost 300 ms at start.
// Run after replacing the swagger: node scripts/engine-api-schema.ts
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { Ajv } from 'ajv';
import standalone from 'ajv/dist/standalone/index.js';
import { DEFINITIONS_ID, lenient, lenientBody, validatorName } from '../src/engine/api/lenient-schema.ts';

export const SWAGGER_PATH = fileURLToPath(new URL('../src/engine/api/docker-engine-api-v1.48.yaml', import.meta.url));
export const SCHEMA_PATH = fileURLToPath(new URL('../src/engine/api/schema.json', import.meta.url));
export const VALIDATORS_PATH = fileURLToPath(new URL('../src/engine/api/validators.js', import.meta.url));

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

// Swarm and plugin routes are answered without reading a body (swarm inactive, no plugins): no validator needed.
const SWARM_AND_PLUGINS = /^\/(swarm|nodes|services|tasks|secrets|configs|plugins)\b/;

export function renderEngineApiSchema(): { schema: string; validators: string } {
  const schema = engineApiSchema(parse(readFileSync(SWAGGER_PATH, 'utf8')) as Json) as { paths: Record<string, Record<string, { body?: Json }>>; definitions: Record<string, Json> };
  const ajv = new Ajv({ strict: false, allowUnionTypes: true, code: { source: true, esm: true } });
  ajv.addSchema({ $id: DEFINITIONS_ID, definitions: Object.fromEntries(Object.entries(schema.definitions).map(([name, s]) => [name, lenient(s, name)])) });
  const exports: Record<string, string> = {};
  for (const [path, methods] of Object.entries(schema.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      if (!operation.body || operation.body.type === 'string' || SWARM_AND_PLUGINS.test(path)) continue;
      const name = validatorName(method, path);
      ajv.addSchema(lenientBody(operation.body, path), name);
      exports[name] = name;
    }
  }
  // The CommonJS module's default export is the function itself.
  const code = (standalone as unknown as { default: typeof standalone.default }).default(ajv, exports);
  const validators = `// Generated by scripts/engine-api-schema.ts from docker-engine-api-v1.48.yaml: do not edit.\n${code}\n`;
  return { schema: JSON.stringify(schema) + '\n', validators };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { schema, validators } = renderEngineApiSchema();
  writeFileSync(SCHEMA_PATH, schema);
  writeFileSync(VALIDATORS_PATH, validators);
}
