import { z } from 'zod';
import type { SchemaObject } from './swagger';

/**
 * Turns a zod schema (the one that validates requests, or one built from the same parts) into a
 * Swagger 2.0 schema. zod writes OpenAPI 3.0 JSON Schema; 2.0 is a subset of it without
 * `nullable` (AutoRest's `x-nullable` says the same) and without anyOf/oneOf, which a connector
 * could not show anyway, so meeting one is an error that names where it was.
 */
export function toSwaggerSchema(schema: z.ZodType, io: 'input' | 'output'): SchemaObject {
  const caseInsensitive = new Set<string>();
  const json = z.toJSONSchema(schema, {
    target: 'openapi-3.0',
    io,
    unrepresentable: 'throw',
    override: ({ zodSchema }) => {
      // JSON Schema patterns have no flags: remember which regexes were case-insensitive.
      for (const check of (zodSchema._zod.def as { checks?: { _zod: { def: { format?: string; pattern?: RegExp } } }[] }).checks ?? []) {
        const { format, pattern } = check._zod.def;
        if (format === 'regex' && pattern?.flags.includes('i') === true) caseInsensitive.add(pattern.source);
      }
    },
  });
  return convert(json, '#', caseInsensitive);
}

/** Keywords Swagger 2.0 schemas share with OpenAPI 3.0 and that mean the same in both. */
const sameKeywords = new Set([
  'type',
  'format',
  'description',
  'default',
  'enum',
  'pattern',
  'minLength',
  'maxLength',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minItems',
  'maxItems',
  'uniqueItems',
  'required',
  'readOnly',
]);

/** Edm.DateTimeOffset in the directory schemas is a regex; connectors show date-time fields better. */
const dateTimePattern = /^\^\\d\{4\}-\\d\{2\}-\\d\{2\}T/;

function convert(json: Record<string, unknown>, at: string, caseInsensitive: ReadonlySet<string>): SchemaObject {
  const result: Record<string, unknown> = {};
  for (const [keyword, value] of Object.entries(json)) {
    if (keyword === '$schema') continue;
    if (keyword === 'nullable') {
      if (value === true) result['x-nullable'] = true;
    } else if (keyword === 'properties') {
      const properties: Record<string, SchemaObject> = {};
      for (const [name, property] of Object.entries(value as Record<string, Record<string, unknown>>)) {
        properties[name] = convert(property, `${at}/properties/${name}`, caseInsensitive);
      }
      result.properties = properties;
    } else if (keyword === 'items') {
      result.items = convert(value as Record<string, unknown>, `${at}/items`, caseInsensitive);
    } else if (keyword === 'additionalProperties') {
      const empty = typeof value === 'object' && value !== null && Object.keys(value).length === 0;
      result.additionalProperties = typeof value === 'boolean' || empty ? value !== false : convert(value as Record<string, unknown>, `${at}/additionalProperties`, caseInsensitive);
    } else if (keyword === 'pattern' && typeof value === 'string') {
      result.pattern = caseInsensitive.has(value) ? caseFoldPattern(value) : value;
      if (dateTimePattern.test(value)) result.format = 'date-time';
    } else if (sameKeywords.has(keyword)) {
      result[keyword] = value;
    } else {
      throw new Error(`The schema at ${at} uses '${keyword}', which Swagger 2.0 cannot express.`);
    }
  }
  if (Array.isArray(result.enum) && result.enum.includes(null)) {
    result.enum = result.enum.filter((member) => member !== null);
    result['x-nullable'] = true;
  }
  return result;
}

/**
 * Rewrites a regex source so that it matches without the `i` flag: letters in character classes
 * gain their other case, other letters become a two-letter class. Enough for the GUID pattern;
 * a construct it cannot rewrite safely is an error rather than a wrong document.
 */
export function caseFoldPattern(source: string): string {
  let out = '';
  let inClass = false;
  for (let index = 0; index < source.length; index += 1) {
    const char = source[index]!;
    if (char === '\\') {
      const next = source[index + 1] ?? '';
      const length = next === 'x' ? 4 : next === 'u' ? 6 : 2;
      if (/[pPk]/.test(next)) throw new Error(`Cannot make /${source}/ case-insensitive.`);
      out += source.slice(index, index + length);
      index += length - 1;
    } else if (char === '[' && !inClass) {
      inClass = true;
      out += char;
    } else if (char === ']' && inClass) {
      inClass = false;
      out += char;
    } else if (inClass && source[index + 1] === '-' && source[index + 2] !== undefined && source[index + 2] !== ']') {
      const end = source[index + 2]!;
      out += `${char}-${end}`;
      if (/[a-z]/.test(char) && /[a-z]/.test(end)) out += `${char.toUpperCase()}-${end.toUpperCase()}`;
      else if (/[A-Z]/.test(char) && /[A-Z]/.test(end)) out += `${char.toLowerCase()}-${end.toLowerCase()}`;
      index += 2;
    } else if (/[a-zA-Z]/.test(char)) {
      if (source.slice(index - 2, index) === '(?' || source[index - 1] === '{') throw new Error(`Cannot make /${source}/ case-insensitive.`);
      const other = char === char.toLowerCase() ? char.toUpperCase() : char.toLowerCase();
      out += inClass ? `${char}${other}` : `[${char}${other}]`;
    } else {
      out += char;
    }
  }
  return out;
}
