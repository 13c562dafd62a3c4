import { operationsOfPath, type OperationObject, type ParameterObject, type ResponseObject, type SchemaObject, type SwaggerDocument } from '../../src/openapi/swagger';

/** Power Platform's wording rules, as its connector certification checks them. */
const minorWords = new Set(['a', 'an', 'and', 'as', 'at', 'by', 'for', 'from', 'in', 'of', 'on', 'or', 'the', 'to', 'with']);

/** "User ID or UPN", "On-Premises NetBIOS Name": every word capitalized except short joining words. */
export function isTitleCase(text: string): boolean {
  const words = text.split(' ');
  return text.trim() === text && words.every((word, index) => word.split('-').every((part) => /^[A-Z0-9]/.test(part) || (index > 0 && minorWords.has(part))));
}

/** "Add a member to a group": a capital first letter, not every word capitalized, no final period. */
export function isSentenceCase(text: string): boolean {
  const words = text.split(' ');
  return /^[A-Z]/.test(text) && !/[.\s]$/.test(text) && (words.length === 1 || words.slice(1).some((word) => /^[a-z]/.test(word)));
}

export interface DocumentedOperation {
  readonly path: string;
  readonly method: string;
  readonly operation: OperationObject;
}

export function operationsOf(document: SwaggerDocument): DocumentedOperation[] {
  return Object.entries(document.paths).flatMap(([path, item]) => operationsOfPath(item).map(([method, operation]) => ({ path, method, operation })));
}

/** After SwaggerParser.dereference, no $ref is left: these casts say so. */
export const parametersOf = (operation: OperationObject) => operation.parameters as ParameterObject[];
export const responsesOf = (operation: OperationObject) => operation.responses as Record<string, ResponseObject>;

/** Every property schema under a schema, with its JSON path. */
export function* propertiesOf(schema: SchemaObject, at: string): Generator<{ at: string; name: string; schema: SchemaObject }> {
  for (const [name, property] of Object.entries(schema.properties ?? {})) {
    yield { at: `${at}.${name}`, name, schema: property };
    yield* propertiesOf(property, `${at}.${name}`);
  }
  if (schema.items !== undefined) yield* propertiesOf(schema.items, `${at}[]`);
}

/**
 * Where a JSON value breaks a (dereferenced) Swagger 2.0 schema: type, x-nullable, enum,
 * pattern, lengths, bounds, required and unknown properties, formats date-time and uri.
 */
export function schemaProblems(value: unknown, schema: SchemaObject, at = '$'): string[] {
  if (value === null) return schema['x-nullable'] === true ? [] : [`${at}: null, but the schema is not x-nullable`];
  const problems: string[] = [];
  const type = Array.isArray(value) ? 'array' : typeof value;
  switch (schema.type) {
    case 'object':
      if (type !== 'object') return [`${at}: ${type}, but the schema wants an object`];
      break;
    case 'array':
      if (type !== 'array') return [`${at}: ${type}, but the schema wants an array`];
      break;
    case 'integer':
      if (!Number.isInteger(value)) return [`${at}: ${JSON.stringify(value)} is not an integer`];
      break;
    case 'number':
    case 'string':
    case 'boolean':
      if (type !== schema.type) return [`${at}: ${type}, but the schema wants a ${schema.type}`];
      break;
    default:
  }
  if (schema.enum !== undefined && !schema.enum.includes(value)) problems.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  if (typeof value === 'string') {
    if (schema.pattern !== undefined && !new RegExp(schema.pattern).test(value)) problems.push(`${at}: '${value}' does not match /${schema.pattern}/`);
    if (schema.minLength !== undefined && value.length < schema.minLength) problems.push(`${at}: shorter than ${schema.minLength}`);
    if (schema.maxLength !== undefined && value.length > schema.maxLength) problems.push(`${at}: longer than ${schema.maxLength}`);
    if (schema.format === 'date-time' && Number.isNaN(Date.parse(value))) problems.push(`${at}: '${value}' is not a date-time`);
    if (schema.format === 'uri' && !URL.canParse(value)) problems.push(`${at}: '${value}' is not a URI`);
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) problems.push(`${at}: below ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) problems.push(`${at}: above ${schema.maximum}`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) problems.push(`${at}: fewer than ${schema.minItems} items`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems) problems.push(`${at}: more than ${schema.maxItems} items`);
    if (schema.items !== undefined) value.forEach((item, index) => problems.push(...schemaProblems(item, schema.items!, `${at}[${index}]`)));
  } else if (type === 'object') {
    const object = value as Record<string, unknown>;
    for (const name of schema.required ?? []) if (!(name in object)) problems.push(`${at}: '${name}' is required and missing`);
    for (const [name, property] of Object.entries(object)) {
      const declared = schema.properties?.[name];
      if (declared !== undefined) problems.push(...schemaProblems(property, declared, `${at}.${name}`));
      else if (schema.additionalProperties === false) problems.push(`${at}: '${name}' is not a declared property`);
      else if (typeof schema.additionalProperties === 'object') problems.push(...schemaProblems(property, schema.additionalProperties, `${at}.${name}`));
    }
  }
  return problems;
}

/** The first line where two texts differ, to say where a committed file drifted. */
export function firstDifference(actual: string, expected: string): string | undefined {
  if (actual === expected) return undefined;
  const actualLines = actual.split('\n');
  const expectedLines = expected.split('\n');
  for (let index = 0; index < Math.max(actualLines.length, expectedLines.length); index += 1) {
    if (actualLines[index] !== expectedLines[index]) {
      return `line ${index + 1}: committed ${JSON.stringify(actualLines[index] ?? '<end of file>')}, generated ${JSON.stringify(expectedLines[index] ?? '<end of file>')}`;
    }
  }
  return 'the files differ only in line endings';
}

/** Whether a request path fills the documented path template (`{name}` is one segment). */
export function fillsTemplate(requestPath: string, template: string): boolean {
  const pathOnly = requestPath.split('?')[0] ?? '';
  const pattern = template
    .split('/')
    .map((segment) => (/^\{\w+\}$/.test(segment) ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${pattern}$`).test(pathOnly);
}
