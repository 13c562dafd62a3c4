import { readFileSync } from 'node:fs';
import path from 'node:path';
import { errorCodes } from '../../src/http/errors';

// The README's error table and src/http/errors.ts must say the same thing, both ways: every
// code the service can answer with is explained to users, and no row describes a code the
// service no longer has (GraphError only takes codes of errorCodes, so that is every emitted one).
describe('error catalogue', () => {
  const readme = readFileSync(path.resolve(__dirname, '../../../README.md'), 'utf8');
  const section = /^## Errors\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1] ?? '';
  const rows = [...section.matchAll(/^\| `([^`]+)` \| (\d+) \|/gm)].map(([, code, status]) => [code!, Number(status)] as const);

  it('finds the table in the README', () => {
    expect(rows.length).toBeGreaterThan(0);
  });

  it.each(Object.entries(errorCodes))('README documents %s with status %i', (code, status) => {
    expect(rows.filter(([documented]) => documented === code)).toEqual([[code, status]]);
  });

  it('has no README row for a code src/http/errors.ts does not have', () => {
    const stale = rows.filter(([code, status]) => !Object.hasOwn(errorCodes, code) || errorCodes[code as keyof typeof errorCodes] !== status);
    expect(stale).toEqual([]);
  });
});
