// XML encode/decode for vim25 SOAP, over fast-xml-parser. Decoding yields an ordered element tree with
// each element's xsi:type resolved through the namespace declarations in scope: vcsim writes
// `XMLSchema-instance:type` (a prefix bound to the XSI namespace), real vCenter `xsi:type`, and
// managed object references carry an unprefixed `type` attribute too — so the prefix alone means
// nothing; only the namespace URI it is bound to does.
import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import { ManagedObjectReference } from './types.ts';

const XSI = 'http://www.w3.org/2001/XMLSchema-instance';
const XSD = 'http://www.w3.org/2001/XMLSchema';
export const VIM25 = 'urn:vim25';
export const SOAPENV = 'http://schemas.xmlsoap.org/soap/envelope/';

/** One decoded element: local name, xsi:type (vim type name, or `xsd:<primitive>`), plain attributes. */
export interface XmlElement {
  name: string;
  xsiType?: string;
  attrs: Record<string, string>;
  text: string;
  children: XmlElement[];
}

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  removeNSPrefix: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  processEntities: true,
  // Go's encoder (vcsim) writes character references (&#34;); this option is what decodes them.
  htmlEntities: true,
});

type Ordered = Record<string, unknown>;

function resolveType(value: string, ns: Map<string, string>): string {
  const colon = value.indexOf(':');
  const prefix = colon < 0 ? '' : value.slice(0, colon);
  const local = colon < 0 ? value : value.slice(colon + 1);
  const uri = ns.get(prefix);
  return uri === XSD ? `xsd:${local}` : local;
}

function convert(name: string, body: unknown[], attrs: Record<string, string>, inherited: Map<string, string>): XmlElement {
  let ns = inherited;
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'xmlns' || k.startsWith('xmlns:')) {
      if (ns === inherited) ns = new Map(inherited);
      ns.set(k === 'xmlns' ? '' : k.slice(6), v);
    }
  }
  const el: XmlElement = { name: name.includes(':') ? name.slice(name.indexOf(':') + 1) : name, attrs: {}, text: '', children: [] };
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'xmlns' || k.startsWith('xmlns:')) continue;
    const colon = k.indexOf(':');
    if (colon >= 0 && ns.get(k.slice(0, colon)) === XSI && k.slice(colon + 1) === 'type') {
      el.xsiType = resolveType(v, ns);
    } else if (colon < 0) {
      el.attrs[k] = v;
    }
  }
  for (const item of body as Ordered[]) {
    for (const [k, v] of Object.entries(item)) {
      if (k === ':@') continue;
      if (k === '#text') el.text += String(v);
      else el.children.push(convert(k, v as unknown[], (item[':@'] ?? {}) as Record<string, string>, ns));
    }
  }
  return el;
}

/** Parses a document and returns its root element. */
export function decodeDocument(xml: string): XmlElement {
  const top = parser.parse(xml) as Ordered[];
  for (const item of top) {
    for (const [k, v] of Object.entries(item)) {
      if (k === ':@' || k === '#text' || k.startsWith('?')) continue;
      return convert(k, v as unknown[], (item[':@'] ?? {}) as Record<string, string>, new Map([['xml', 'http://www.w3.org/XML/1998/namespace']]));
    }
  }
  throw new Error('vim25: response has no XML root element');
}

export function child(el: XmlElement | undefined, name: string): XmlElement | undefined {
  return el?.children.find((c) => c.name === name);
}

export function children(el: XmlElement | undefined, name: string): XmlElement[] {
  return el ? el.children.filter((c) => c.name === name) : [];
}

export function childText(el: XmlElement | undefined, name: string): string | undefined {
  return child(el, name)?.text;
}

export function toRef(el: XmlElement): ManagedObjectReference {
  const type = el.attrs.type;
  if (!type) throw new Error(`vim25: <${el.name}> is not a managed object reference`);
  return new ManagedObjectReference(type, el.text);
}

/** A decoded data object with no schema at hand: fields by element name, repeats as arrays. */
export interface VimObject {
  $type?: string;
  [field: string]: unknown;
}

const NUMERIC = new Set(['xsd:int', 'xsd:long', 'xsd:short', 'xsd:byte', 'xsd:float', 'xsd:double']);

/**
 * Generic decoding for property values and fault details: `ArrayOf*` → array, a `type`-attributed leaf →
 * ManagedObjectReference, an xsd-typed leaf → its primitive, any other leaf → its text, else an object.
 * A field seen once stays a scalar: callers read sequences through `list()`.
 */
export function toValue(el: XmlElement): unknown {
  if (el.xsiType?.startsWith('ArrayOf')) return el.children.map(toValue);
  if (el.children.length === 0) {
    if (el.attrs.type !== undefined && el.xsiType === undefined) return new ManagedObjectReference(el.attrs.type, el.text);
    if (el.xsiType === 'ManagedObjectReference') return new ManagedObjectReference(el.attrs.type ?? '', el.text);
    if (el.xsiType === 'xsd:boolean') return el.text === 'true';
    if (el.xsiType && NUMERIC.has(el.xsiType)) return Number(el.text);
    // A data object whose fields are all unset (e.g. a fault with no fields) still has its type.
    if (el.xsiType && !el.xsiType.startsWith('xsd:') && el.text === '') return { $type: el.xsiType };
    return el.text;
  }
  const out: VimObject = {};
  if (el.xsiType) out.$type = el.xsiType;
  for (const c of el.children) {
    const v = toValue(c);
    const prev = out[c.name];
    if (prev === undefined) out[c.name] = v;
    else if (Array.isArray(prev) && (prev as unknown as { $repeated?: true }).$repeated) prev.push(v);
    else {
      const arr = [prev, v] as unknown[] & { $repeated?: true };
      Object.defineProperty(arr, '$repeated', { value: true, enumerable: false });
      out[c.name] = arr;
    }
  }
  return out;
}

/** A field that may be absent, one value or several, as an array. */
export function list<T>(v: T | T[] | undefined): T[] {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v : [v];
}

// ---- encoding ----

/** A value with an explicit xsi:type (needed where the schema says a base type or `anyType`). */
export interface Typed {
  $type: string;
  [field: string]: unknown;
}

/** A primitive in an `anyType` slot (e.g. OptionValue.value): `{ $xsd: 'string', value: '…' }`. */
export interface XsdValue {
  $xsd: 'string' | 'int' | 'long' | 'boolean';
  value: string | number | boolean;
}

export function xsdString(value: string): XsdValue {
  return { $xsd: 'string', value };
}

type OrderedNode = Record<string, unknown>;

function encodeField(name: string, value: unknown, out: OrderedNode[]): void {
  if (value === undefined || value === null) return;
  if (Array.isArray(value)) {
    for (const v of value) encodeField(name, v, out);
    return;
  }
  if (value instanceof ManagedObjectReference) {
    out.push({ [name]: [{ '#text': value.value }], ':@': { type: value.type } });
    return;
  }
  if (typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if ('$xsd' in o) {
      const x = o as unknown as XsdValue;
      out.push({ [name]: [{ '#text': String(x.value) }], ':@': { 'xsi:type': `xsd:${x.$xsd}` } });
      return;
    }
    const body: OrderedNode[] = [];
    for (const [k, v] of Object.entries(o)) {
      if (k === '$type') continue;
      encodeField(k, v, body);
    }
    const node: OrderedNode = { [name]: body };
    if (typeof o.$type === 'string') node[':@'] = { 'xsi:type': o.$type };
    out.push(node);
    return;
  }
  out.push({ [name]: [{ '#text': String(value) }] });
}

const builder = new XMLBuilder({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  suppressEmptyNode: false,
  processEntities: true,
  format: false,
});

/** The SOAP envelope for one call: `<method xmlns="urn:vim25"><_this type=…>…</_this>…args</method>`. */
export function encodeRequest(method: string, self: ManagedObjectReference, args: Record<string, unknown>): string {
  const body: OrderedNode[] = [];
  encodeField('_this', self, body);
  for (const [k, v] of Object.entries(args)) encodeField(k, v, body);
  const envelope: OrderedNode[] = [
    {
      'soapenv:Envelope': [{ 'soapenv:Body': [{ [method]: body, ':@': { xmlns: VIM25 } }] }],
      ':@': { 'xmlns:soapenv': SOAPENV, 'xmlns:xsi': XSI, 'xmlns:xsd': XSD },
    },
  ];
  return '<?xml version="1.0" encoding="UTF-8"?>' + (builder.build(envelope) as string);
}
