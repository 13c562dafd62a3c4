import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import AjvDraft04 from 'ajv-draft-04';
import addFormats from 'ajv-formats';
import { parse, printParseErrorCode, type ParseError } from 'jsonc-parser';
import { connectorFolder, repositoryRoot } from '../../src/openapi/writeConnector';

/**
 * connector/ against the JSON schemas Power Platform publishes for a connector's two files
 * (test/openapi/schemas, vendored from microsoft/PowerPlatformConnectors with their source and
 * licence). Its submission pipeline validates with a service of its own; these schemas are the
 * public part of that check.
 */
const root = repositoryRoot(__dirname);
const schemaFolder = path.join(root, 'test', 'openapi', 'schemas');
const connector = (name: string): Record<string, unknown> => JSON.parse(readFileSync(path.join(connectorFolder(root), name), 'utf8')) as Record<string, unknown>;

/** Both schema files hold `//` comments (e.g. `// TODO`), so they are JSON with comments. */
function readSchema(name: string): Record<string, unknown> {
  const errors: ParseError[] = [];
  const schema = parse(readFileSync(path.join(schemaFolder, name), 'utf8'), errors, { disallowComments: false, allowTrailingComma: false }) as Record<string, unknown>;
  if (errors.length > 0) throw new Error(`${name}: ${errors.map((error) => `${printParseErrorCode(error.error)} at ${error.offset}`).join(', ')}`);
  return schema;
}

/**
 * The apiProperties schema, adjusted in memory where it is older than the platform:
 * - it declares draft-07 but names itself with draft-04's `id`, which Ajv 8 refuses; the name is
 *   only an identifier (every `$ref` in the file is local), so it is dropped;
 * - its redirectMode enum (2020) lists Global and Direct only. GlobalPerConnector, the mode new
 *   connections need since the shared redirect URI was retired in 2024, is what more than 30
 *   connectors of the same repository declare (certified-connectors/Zellis, /Highspot, …).
 */
function apiPropertiesValidator(): ValidateFunction {
  const { id: _identifier, ...schema } = readSchema('paconn-apiProperties.schema.json');
  const redirectMode = (schema.definitions as Record<string, { properties: Record<string, { enum: string[] }> }>).oAuthSettings!.properties.redirectMode!;
  // A newer vendored copy may list it already: then this adjustment is to go.
  if (JSON.stringify(redirectMode.enum) !== '["Global","Direct"]') throw new Error(`redirectMode enum is now ${JSON.stringify(redirectMode.enum)}: revisit the adjustment`);
  redirectMode.enum = [...redirectMode.enum, 'GlobalPerConnector'];
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  return ajv.compile(schema);
}

/** The Swagger 2.0 schema with Power Platform's x-ms-* extensions; draft-04, as Swagger's own. */
function apiDefinitionValidator(): ValidateFunction {
  const ajv = new AjvDraft04({ strict: false, allErrors: true });
  addFormats(ajv);
  return ajv.compile(readSchema('apiDefinition.swagger.schema.json'));
}

const problems = (validate: ValidateFunction, value: unknown): string[] =>
  validate(value) ? [] : (validate.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message ?? error.keyword} ${JSON.stringify(error.params)}`);

const clone = <T>(value: T): T => structuredClone(value);

describe('connector/apiProperties.json against paconn-apiProperties.schema.json', () => {
  const validate = apiPropertiesValidator();
  const committed = connector('apiProperties.json');
  const oAuth = (properties: Record<string, unknown>) =>
    ((properties.properties as Record<string, unknown>).connectionParameters as Record<string, { oAuthSettings: Record<string, unknown> }>).token!.oAuthSettings;

  it('is valid', () => {
    expect(problems(validate, committed)).toEqual([]);
  });

  it('signs in through a per-connector redirect URI (GlobalPerConnector) that the platform generates', () => {
    expect(oAuth(committed).redirectMode).toBe('GlobalPerConnector');
    expect(oAuth(committed)).not.toHaveProperty('redirectUrl');
  });

  it('would be refused with enableOnbehalfOfLogin, which the aad provider does not take', () => {
    const withOnBehalfOf = clone(committed);
    (oAuth(withOnBehalfOf).customParameters as Record<string, unknown>).enableOnbehalfOfLogin = { value: 'false' };
    expect(problems(validate, withOnBehalfOf).join('\n')).toContain('enableOnbehalfOfLogin');
  });

  it('would be refused with an unknown redirect mode or a missing resourceUri', () => {
    const unknownMode = clone(committed);
    oAuth(unknownMode).redirectMode = 'PerConnector';
    expect(problems(validate, unknownMode).join('\n')).toContain('/redirectMode');
    const noResource = clone(committed);
    delete (oAuth(noResource).customParameters as Record<string, unknown>).resourceUri;
    expect(problems(validate, noResource).join('\n')).toContain('resourceUri');
  });
});

describe('connector/apiDefinition.swagger.json against apiDefinition.swagger.schema.json', () => {
  const validate = apiDefinitionValidator();
  const committed = connector('apiDefinition.swagger.json');

  it('is valid', () => {
    expect(problems(validate, committed)).toEqual([]);
  });

  it('would be refused with a misspelt or mistyped x-ms extension on a path parameter', () => {
    const misspelt = clone(committed);
    const groupId = (misspelt.parameters as Record<string, Record<string, unknown>>).groupId!;
    groupId['x-ms-url-encodings'] = groupId['x-ms-url-encoding'];
    expect(problems(validate, misspelt)).not.toEqual([]);
    const mistyped = clone(committed);
    (mistyped.parameters as Record<string, Record<string, unknown>>).userId!['x-ms-url-encoding'] = 'triple';
    expect(problems(validate, mistyped).join('\n')).toContain('/parameters/userId/x-ms-url-encoding');
  });

  it('would be refused with a contact URL that is not a URL', () => {
    const badContact = clone(committed);
    (badContact.info as { contact: Record<string, string> }).contact.url = 'your organization';
    expect(problems(validate, badContact).join('\n')).toContain('/info/contact/url');
  });
});
