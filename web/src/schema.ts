// schema.ts: forms from the API's own schemas (components.schemas of docs/openapi.yaml, built in
// by openapi-plugin.ts). fieldsOf() lists an object schema's settings with their kind, range,
// length and choices; check() applies the same rules to what the user typed, before anything is
// sent, with the API's wording ("9 is outside 1..8"); problemsFor() puts the API's own refusals
// (invalid_config problems with paths) beside the fields they name.
import type { Problem } from './api';

export type Schema = {
  type?: string;
  $ref?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  enum?: (string | number)[];
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  maxItems?: number;
  minItems?: number;
  pattern?: string;
  default?: unknown;
  description?: string;
  items?: Schema;
  oneOf?: Schema[];
  allOf?: Schema[];
  discriminator?: { propertyName: string; mapping: Record<string, string> };
  readOnly?: boolean;
};

export type FieldKind = 'integer' | 'number' | 'boolean' | 'choice' | 'text' | 'list' | 'byte';

export type Field = {
  name: string;
  kind: FieldKind;
  required: boolean;
  min?: number;
  max?: number;
  maxLength?: number;
  maxItems?: number;
  pattern?: string;
  choices?: string[];
  default?: unknown;
  help?: string;
};

export class Schemas {
  constructor(private readonly all: Record<string, Schema>) {}

  /** Adds a schema under `name` (an array's item schema, for fieldsOf). */
  register(name: string, s: Schema): string {
    if (!this.all[name]) this.all[name] = s;
    return name;
  }

  /** The schema `name` or `#/components/schemas/name`, refs followed. */
  get(name: string): Schema {
    const key = name.replace('#/components/schemas/', '');
    const s = this.all[key];
    if (!s) throw new Error(`no schema ${key}`);
    return this.deref(s);
  }

  deref(s: Schema): Schema {
    let cur = s;
    for (let i = 0; cur.$ref && i < 8; i++) cur = this.get(cur.$ref);
    return cur;
  }

  /** Every member of an object schema as a form field, in the schema's order; `skip` left out. */
  fieldsOf(name: string, skip: string[] = []): Field[] {
    const s = this.get(name);
    const req = new Set(s.required ?? []);
    return Object.entries(s.properties ?? {})
      .filter(([k]) => !skip.includes(k))
      .map(([k, p]) => this.field(k, p, req.has(k)));
  }

  field(name: string, raw: Schema, required: boolean): Field {
    const p = this.deref(raw);
    const base = { name, required, default: p.default, help: p.description?.trim() };
    if (p.oneOf) {
      // Delimiter (a byte as "0x0a") and stop_bits (string or number): the string form counts.
      const str = p.oneOf.map((o) => this.deref(o)).find((o) => o.type === 'string');
      if (str?.enum) return { ...base, kind: 'choice', choices: str.enum.map(String) };
      return { ...base, kind: 'byte', pattern: str?.pattern };
    }
    if (p.enum) return { ...base, kind: 'choice', choices: p.enum.map(String) };
    switch (p.type) {
      case 'integer':
      case 'number':
        return { ...base, kind: p.type, min: p.minimum, max: p.maximum };
      case 'boolean':
        return { ...base, kind: 'boolean' };
      case 'array':
        return { ...base, kind: 'list', maxItems: p.maxItems, maxLength: p.items ? this.deref(p.items).maxLength : undefined };
      default:
        return { ...base, kind: 'text', maxLength: p.maxLength, pattern: p.pattern };
    }
  }

  /** The object schema of a discriminated union member: modeSchema('Mode', 'tcp_server'). */
  variant(union: string, value: string): string | null {
    const ref = this.get(union).discriminator?.mapping[value];
    return ref ? ref.replace('#/components/schemas/', '') : null;
  }

  variants(union: string): string[] {
    return Object.keys(this.get(union).discriminator?.mapping ?? {});
  }
}

/**
 * What the user typed, checked by the field's rules: [value to send, error or null]. An empty
 * optional field sends nothing (undefined: the API's default applies).
 */
export function check(f: Field, input: string | boolean | string[]): [unknown, string | null] {
  if (f.kind === 'boolean') return [Boolean(input), null];
  if (f.kind === 'list') {
    const items = (Array.isArray(input) ? input : String(input).split('\n'))
      .map((s) => s.trim())
      .filter((s) => s !== '');
    if (f.maxItems !== undefined && items.length > f.maxItems) return [items, `at most ${f.maxItems} entries`];
    const long = f.maxLength === undefined ? undefined : items.find((s) => s.length > f.maxLength!);
    if (long !== undefined) return [items, `"${long}" is longer than ${f.maxLength} characters`];
    return [items, null];
  }
  const text = String(input).trim();
  if (text === '') return [undefined, f.required ? 'required' : null];
  switch (f.kind) {
    case 'integer':
    case 'number': {
      const n = Number(text);
      if (!Number.isFinite(n) || (f.kind === 'integer' && !/^-?\d+$/.test(text))) {
        return [undefined, `${text} is not ${f.kind === 'integer' ? 'a whole number' : 'a number'}`];
      }
      if ((f.min !== undefined && n < f.min) || (f.max !== undefined && n > f.max)) {
        return [n, `${n} is outside ${f.min ?? '…'}..${f.max ?? '…'}`];
      }
      return [n, null];
    }
    case 'choice':
      return f.choices!.includes(text) ? [text, null] : [text, `${text} is not one of ${f.choices!.join(', ')}`];
    case 'byte': {
      if (!/^0[xX][0-9a-fA-F]{1,2}$/.test(text)) return [text, `${text} is not a byte like 0x0a`];
      return [text, null];
    }
    default: {
      // Text is sent as typed (spaces too); only the check trims.
      const raw = String(input);
      if (f.maxLength !== undefined && [...raw].length > f.maxLength) {
        return [raw, `longer than ${f.maxLength} characters`];
      }
      if (f.pattern && !new RegExp(f.pattern).test(raw)) return [raw, 'has characters that are not allowed'];
      return [raw, null];
    }
  }
}

/** The text a field shows for a value the API gave (or its default when absent). */
export function show(f: Field, v: unknown): string | boolean | string[] {
  if (f.kind === 'boolean') return Boolean(v ?? f.default ?? false);
  if (f.kind === 'list') return Array.isArray(v) ? v.map(String) : [];
  if (v === undefined || v === null) return '';
  return String(v);
}

/**
 * The API's problems whose path lies under `prefix` (e.g. "ports[0]." or "login."), keyed by the
 * rest of the path ("mode.max_connections"); problems outside it under "".
 */
export function problemsFor(problems: Problem[], prefixes: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of problems) {
    let key = '';
    for (const pre of prefixes) {
      if (p.path.startsWith(pre)) {
        key = p.path.slice(pre.length);
        break;
      }
      const m = pre.includes('[*]') ? p.path.match(new RegExp('^' + pre.replace(/[.]/g, '\\.').replace('[*]', '\\[\\d+\\]'))) : null;
      if (m) {
        key = p.path.slice(m[0].length);
        break;
      }
    }
    if (!prefixes.length) key = p.path;
    out[key] = out[key] ? `${out[key]}; ${p.message}` : p.message;
  }
  return out;
}
