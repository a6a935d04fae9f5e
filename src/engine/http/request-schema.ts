// Request validation driven by Docker's own API description (src/engine/api/schema.json, made from the
// v1.48 swagger by scripts/engine-api-schema.ts). A request that dockerd would refuse while decoding
// it is answered 400 here, before a handler sees it, so no handler meets a number where it expects a
// string, or a null body.
//
// Lenient where dockerd is: Go's JSON decoder takes null for any field (it leaves the zero value) and
// ignores fields it does not know, and enums are not checked while decoding (an empty string is
// "unset"). So: every property may be null (and is then dropped, as if absent), extra properties pass,
// `required` is not enforced here (the handlers say what is missing, as dockerd does), and a string
// enum also takes "".
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import type { ValidateFunction, ErrorObject } from 'ajv';
import { invalid } from '../../portlayer/errors.ts';

type Json = Record<string, unknown>;

interface QueryParameter { name: string; type: string; format?: string; enum?: string[] }
interface Operation { query: QueryParameter[]; body?: Json }
interface EngineApiSchema { paths: Record<string, Record<string, Operation>>; definitions: Record<string, Json> }

const SCHEMA_FILE = new URL('../api/schema.json', import.meta.url);
const DEFINITIONS_ID = 'docker-engine-api';

// Go's integer types: the decoder refuses a value outside the field's range.
const INTEGER_RANGES: Record<string, [number, number]> = {
  uint8: [0, 255],
  uint16: [0, 65535],
  uint32: [0, 4294967295],
  uint64: [0, Number.MAX_SAFE_INTEGER],
  int32: [-2147483648, 2147483647],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

// dockerd's strslice: these take a single string as well as a list of strings.
const STRING_OR_LIST = new Set(['ContainerConfig.Cmd', 'ContainerConfig.Entrypoint', 'ContainerConfig.Shell']);

/** A trimmed swagger schema made ready for Ajv, with dockerd's leniency. */
function lenient(schema: Json, where: string): Json {
  const out: Json = {};
  if (typeof schema.$ref === 'string') out.$ref = schema.$ref.replace('#/definitions/', `${DEFINITIONS_ID}#/definitions/`);
  if (schema.type !== undefined) out.type = schema.type;
  if (schema.type === 'integer') {
    // Only the Go type's range: the swagger's minimum/maximum are checked later by dockerd, if at all
    // (the docker CLI sends MemorySwappiness -1, below the documented 0).
    [out.minimum, out.maximum] = INTEGER_RANGES[String(schema.format)] ?? INTEGER_RANGES.int64;
  }
  if (Array.isArray(schema.enum) && schema.enum.every((v) => typeof v === 'string')) out.enum = [...new Set(['', ...schema.enum])];
  if (schema.items) out.items = lenient(schema.items as Json, `${where}[]`);
  if (schema.allOf) out.allOf = (schema.allOf as Json[]).map((s) => lenient(s, where));
  if (schema.additionalProperties) out.additionalProperties = nullable(lenient(schema.additionalProperties as Json, `${where}{}`));
  if (schema.properties) {
    const properties = schema.properties as Record<string, Json>;
    out.properties = Object.fromEntries(Object.entries(properties).map(([name, s]) => {
      let property = lenient(s, `${where}.${name}`);
      if (STRING_OR_LIST.has(`${where}.${name}`)) property = { anyOf: [{ type: 'string' }, property] };
      return [name, nullable(property)];
    }));
    out.dropNullProperties = Object.keys(properties);
  }
  return out;
}

function nullable(schema: Json): Json {
  return { anyOf: [{ type: 'null' }, schema] };
}

/** Compiled lazily, one operation at a time: the engine starts without paying for any of it. */
class RequestSchemas {
  private readonly spec: EngineApiSchema;
  private readonly ajv: Ajv;
  private readonly bodies = new Map<string, ValidateFunction>();

  constructor(spec: EngineApiSchema) {
    this.spec = spec;
    this.ajv = new Ajv({ strict: false, allowUnionTypes: true, allErrors: false });
    // Go leaves a field that came as null at its zero value: drop it, so handlers see it absent.
    this.ajv.addKeyword({
      keyword: 'dropNullProperties',
      modifying: true,
      schemaType: 'array',
      validate: (names: string[], data: unknown) => {
        if (data && typeof data === 'object' && !Array.isArray(data)) {
          for (const name of names) if ((data as Json)[name] === null) delete (data as Json)[name];
        }
        return true;
      },
    });
    const definitions = Object.fromEntries(Object.entries(spec.definitions).map(([name, s]) => [name, lenient(s, name)]));
    this.ajv.addSchema({ $id: DEFINITIONS_ID, definitions });
  }

  operation(method: string, path: string): Operation | undefined {
    return this.spec.paths[path]?.[method];
  }

  /** The body's validator; undefined when the body is a byte stream (tar, import) or there is none. */
  body(method: string, path: string): ValidateFunction | undefined {
    const key = `${method} ${path}`;
    const cached = this.bodies.get(key);
    if (cached) return cached;
    const schema = this.operation(method, path)?.body;
    if (!schema || schema.type === 'string') return undefined;
    // The body itself may not be null: dockerd answers such a request 400 too.
    const compiled = this.ajv.compile({ ...lenient(schema, path), type: schema.type ?? 'object' });
    this.bodies.set(key, compiled);
    return compiled;
  }
}

let loaded: RequestSchemas | undefined;

export function requestSchemas(): RequestSchemas {
  loaded ??= new RequestSchemas(JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as EngineApiSchema);
  return loaded;
}

// The router's path ("/images/:name*" + "/json") as the swagger spells it ("/images/{name}/json").
export function swaggerPath(routePath: string): string {
  return routePath.replace(/:(\w+)\*?/g, '{$1}');
}

/** Whether the operation's body is JSON (read and checked before the handler) rather than a stream. */
export function hasJsonBody(method: string, routePath: string): boolean {
  return requestSchemas().body(method, swaggerPath(routePath)) !== undefined;
}

// Their request stream is the container's or the exec's stdin when the client does not upgrade.
const STREAMING_INPUT = new Set(['/containers/{id}/attach', '/exec/{id}/start']);

/** Whether the API describes the operation, and without a body (nor a stdin stream in its place). */
export function takesNoBody(method: string, routePath: string): boolean {
  const path = swaggerPath(routePath);
  const operation = requestSchemas().operation(method, path);
  return operation !== undefined && operation.body === undefined && !STREAMING_INPUT.has(path);
}

/** Throws InvalidParameter when the parsed body does not fit the operation's schema; drops null fields. */
export function checkBody(method: string, routePath: string, body: unknown): void {
  const validate = requestSchemas().body(method, swaggerPath(routePath));
  if (!validate || validate(body)) return;
  throw invalid(`invalid request body: ${describe(validate.errors ?? [])}`);
}

// The most telling error: the deepest one that is not about the null alternative or the anyOf itself.
function describe(errors: ErrorObject[]): string {
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
  const operation = requestSchemas().operation(method, swaggerPath(routePath));
  if (!operation) return;
  for (const parameter of operation.query) {
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
