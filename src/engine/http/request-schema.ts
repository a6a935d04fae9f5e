// Request validation driven by Docker's own API description: src/engine/api/schema.json and the body
// validators compiled from it ahead of time (validators.js), both made from the v1.48 swagger by
// scripts/engine-api-schema.ts. A request dockerd would refuse while decoding it is answered 400 here,
// before a handler sees it, so no handler meets a number where it expects a string, or a null body.
// The leniency that docker clients rely on is described in src/engine/api/lenient-schema.ts.
import { readFileSync } from 'node:fs';
import { invalid } from '../../portlayer/errors.ts';
import { INTEGER_RANGES, validatorName, type Json } from '../api/lenient-schema.ts';
import * as validators from '../api/validators.js';

interface QueryParameter { name: string; type: string; format?: string; enum?: string[] }
interface Operation { query: QueryParameter[]; body?: Json }
interface EngineApiSchema { paths: Record<string, Record<string, Operation>>; definitions: Record<string, Json> }
interface ValidationError { instancePath: string; keyword: string; message?: string; params: Record<string, unknown> }
type Validator = ((data: unknown) => boolean) & { errors?: ValidationError[] | null };

const SCHEMA_FILE = new URL('../api/schema.json', import.meta.url);
const compiled = validators as unknown as Record<string, Validator>;

let loaded: EngineApiSchema | undefined;

function spec(): EngineApiSchema {
  loaded ??= JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as EngineApiSchema;
  return loaded;
}

function operation(method: string, path: string): Operation | undefined {
  return spec().paths[path]?.[method];
}

function bodyValidator(method: string, path: string): Validator | undefined {
  const body = operation(method, path)?.body;
  if (!body || body.type === 'string') return undefined;
  return compiled[validatorName(method, path)];
}

// The router's path ("/images/:name*" + "/json") as the swagger spells it ("/images/{name}/json").
export function swaggerPath(routePath: string): string {
  return routePath.replace(/:(\w+)\*?/g, '{$1}');
}

/** Whether the operation's body is JSON (read and checked before the handler) rather than a stream. */
export function hasJsonBody(method: string, routePath: string): boolean {
  return bodyValidator(method, swaggerPath(routePath)) !== undefined;
}

// Their request stream is the container's or the exec's stdin when the client does not upgrade.
const STREAMING_INPUT = new Set(['/containers/{id}/attach', '/exec/{id}/start']);

/** Whether the API describes the operation, and without a body (nor a stdin stream in its place). */
export function takesNoBody(method: string, routePath: string): boolean {
  const path = swaggerPath(routePath);
  const op = operation(method, path);
  return op !== undefined && op.body === undefined && !STREAMING_INPUT.has(path);
}

/** Throws InvalidParameter when the parsed body does not fit the operation's schema; drops null fields. */
export function checkBody(method: string, routePath: string, body: unknown): void {
  const path = swaggerPath(routePath);
  const validate = bodyValidator(method, path);
  if (!validate) return;
  dropNullProperties(body, operation(method, path)!.body!, 0);
  if (!validate(body)) throw invalid(`invalid request body: ${describe(validate.errors ?? [])}`);
}

// Go leaves a field that came as null at its zero value: such a field is dropped, as if absent. Map
// entries keep their null (Go keeps the key: {"EndpointsConfig": {"net": null}} still joins "net").
function dropNullProperties(value: unknown, schema: Json, depth: number): void {
  if (!value || typeof value !== 'object' || depth > 64) return;
  const parts = expand(schema);
  if (Array.isArray(value)) {
    for (const part of parts) if (part.items) for (const item of value) dropNullProperties(item, part.items as Json, depth + 1);
    return;
  }
  const object = value as Json;
  for (const part of parts) {
    const properties = (part.properties ?? {}) as Record<string, Json>;
    for (const [name, propertySchema] of Object.entries(properties)) {
      if (!Object.hasOwn(object, name)) continue;
      if (object[name] === null) delete object[name];
      else dropNullProperties(object[name], propertySchema, depth + 1);
    }
    if (part.additionalProperties && typeof part.additionalProperties === 'object') {
      for (const [key, entry] of Object.entries(object)) if (!properties[key]) dropNullProperties(entry, part.additionalProperties as Json, depth + 1);
    }
  }
}

/** A schema with its $ref followed and its allOf parts laid side by side. */
function expand(schema: Json): Json[] {
  const resolved = typeof schema.$ref === 'string' ? spec().definitions[schema.$ref.replace('#/definitions/', '')] ?? {} : schema;
  return [resolved, ...((resolved.allOf ?? []) as Json[]).flatMap(expand)];
}

// The most telling error: the deepest one that is not about a null alternative or an anyOf itself.
function describe(errors: ValidationError[]): string {
  const useful = errors.filter((e) => e.keyword !== 'anyOf' && !(e.keyword === 'type' && e.params.type === 'null'));
  const chosen = (useful.length ? useful : errors).reduce((a, b) => (b.instancePath.length > a.instancePath.length ? b : a));
  const field = chosen.instancePath.replace(/^\//, '').replace(/\//g, '.') || 'body';
  const allowed = chosen.keyword === 'enum' ? `: ${(chosen.params.allowedValues as string[]).filter(Boolean).join(', ')}` : '';
  return `${field} ${chosen.message ?? 'is invalid'}${allowed}`;
}

// Go's strconv.Atoi / ParseInt: an optional sign and decimal digits, nothing else.
const INTEGER_TEXT = /^[+-]?\d+$/;
// Timestamps (logs since/until) come as unix seconds with a fraction from the docker CLI.
const TIMESTAMP_TEXT = /^\d+(\.\d+)?$/;
const TIMESTAMP_PARAMETERS = new Set(['since', 'until']);

/** Throws InvalidParameter for a query value dockerd could not parse (integers; booleans take anything). */
export function checkQuery(method: string, routePath: string, query: URLSearchParams): void {
  const op = operation(method, swaggerPath(routePath));
  if (!op) return;
  for (const parameter of op.query) {
    if (parameter.type !== 'integer') continue;
    for (const value of query.getAll(parameter.name)) {
      if (value === '') continue;
      if (TIMESTAMP_PARAMETERS.has(parameter.name) && TIMESTAMP_TEXT.test(value)) continue;
      const [min, max] = INTEGER_RANGES[parameter.format ?? 'int64'] ?? INTEGER_RANGES.int64;
      if (!INTEGER_TEXT.test(value) || Number(value) < min || Number(value) > max) {
        throw invalid(`invalid value for ${parameter.name}: ${JSON.stringify(value)} is not an integer in range`);
      }
    }
  }
}
