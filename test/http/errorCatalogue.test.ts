import { readFileSync } from 'node:fs';
import path from 'node:path';
import { errorCodes } from '../../src/http/errors';

// Every code the service can answer with must be explained to users in the README's error table.
describe('error catalogue', () => {
  const readme = readFileSync(path.resolve(__dirname, '../../../README.md'), 'utf8');
  it.each(Object.entries(errorCodes))('README documents %s with status %i', (code, status) => {
    expect(readme).toMatch(new RegExp(`\\| \`${code}\` \\| ${status} \\|`));
  });
});
