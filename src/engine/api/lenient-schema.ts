// Docker's request schemas (trimmed from the swagger) made ready for Ajv, with dockerd's leniency.
// Used by scripts/engine-api-schema.ts, which compiles them ahead of time into validators.js.
//
// Go's JSON decoder takes null for any field (leaving the zero value): the engine drops null
// properties before validating (request-schema.ts), and map values may be null. It ignores fields it
// does not know, and checks no enum while decoding (an empty string is "unset"): extra properties pass,
// `required` is not enforced (the handlers say what is missing, as dockerd does), a string enum also
// takes "", and only the Go integer type's range is checked (the docker CLI sends MemorySwappiness -1,
// below the documented minimum 0).

export type Json = Record<string, unknown>;

export const DEFINITIONS_ID = 'docker-engine-api';

// Go's integer types: the decoder refuses a value outside the field's range.
export const INTEGER_RANGES: Record<string, [number, number]> = {
  uint8: [0, 255],
  uint16: [0, 65535],
  uint32: [0, 4294967295],
  uint64: [0, Number.MAX_SAFE_INTEGER],
  int32: [-2147483648, 2147483647],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

// dockerd's strslice: these take a single string as well as a list of strings.
const STRING_OR_LIST = new Set(['ContainerConfig.Cmd', 'ContainerConfig.Entrypoint', 'ContainerConfig.Shell']);

export function lenient(schema: Json, where: string): Json {
  const out: Json = {};
  if (typeof schema.$ref === 'string') out.$ref = schema.$ref.replace('#/definitions/', `${DEFINITIONS_ID}#/definitions/`);
  if (schema.type !== undefined) out.type = schema.type;
  if (schema.type === 'integer') [out.minimum, out.maximum] = INTEGER_RANGES[String(schema.format)] ?? INTEGER_RANGES.int64;
  if (Array.isArray(schema.enum) && schema.enum.every((v) => typeof v === 'string')) out.enum = [...new Set(['', ...schema.enum])];
  if (schema.items) out.items = lenient(schema.items as Json, `${where}[]`);
  if (schema.allOf) out.allOf = (schema.allOf as Json[]).map((s) => lenient(s, where));
  if (schema.additionalProperties) out.additionalProperties = { anyOf: [{ type: 'null' }, lenient(schema.additionalProperties as Json, `${where}{}`)] };
  if (schema.properties) {
    out.properties = Object.fromEntries(Object.entries(schema.properties as Record<string, Json>).map(([name, s]) => {
      const property = lenient(s, `${where}.${name}`);
      return [name, STRING_OR_LIST.has(`${where}.${name}`) ? { anyOf: [{ type: 'string' }, property] } : property];
    }));
  }
  return out;
}

/** The body's schema for Ajv; the body itself must be an object (or what the API says), never null. */
export function lenientBody(schema: Json, where: string): Json {
  return { ...lenient(schema, where), type: schema.type ?? 'object' };
}

/** The name the compiled validator of an operation's body is exported under. */
export function validatorName(method: string, path: string): string {
  return `${method.toLowerCase()}${path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`;
}
