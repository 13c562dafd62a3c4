import { httpFunctions } from '../../functions/catalog';
import { warmUp } from '../../src/startup/warmUp';
import { TestService } from '../support/testService';

let service: TestService;
beforeAll(async () => {
  service = await TestService.start();
});
afterAll(() => service.stop());

describe('the appStart warm-up (src/startup/warmUp.ts)', () => {
  it('never fails the start: with the key endpoint and Cosmos DB refusing, it warns, and the first request then does the work itself', async () => {
    service.issuer.available = false;
    service.proxy.rule = () => ({ kind: 'status', status: 401 });
    const warnings: string[] = [];
    try {
      await expect(warmUp((message) => warnings.push(message))).resolves.toBeUndefined();
    } finally {
      service.issuer.available = true;
      service.proxy.rule = () => undefined;
    }
    expect(warnings.map((warning) => /^warm-up of the (.+?) failed/.exec(warning)?.[1] ?? warning).sort()).toEqual(['Cosmos DB client', 'signing keys']);

    // A failed discovery is not kept: the first request finds the keys itself.
    const keySetsServed = service.issuer.jwksRequests;
    const group = await service.createGroup();
    expect((await service.request('GET', `/v1.0/groups/${group.id}/members`)).status).toBe(200);
    expect(service.issuer.jwksRequests).toBeGreaterThan(keySetsServed);
  });
});

describe('the warm-up of the HTTP functions', () => {
  it('sends every function that needs a token one request without one, which each refuses, and warns of one that answers it', async () => {
    const warnings: string[] = [];
    await warmUp((message) => warnings.push(message), httpFunctions);
    expect(warnings).toEqual([]);

    const answered: string[] = [];
    const open = { name: 'openFunction', methods: ['GET'], openApi: [{}], handler: () => Promise.resolve({ status: 200, body: 'open' }) };
    const health = {
      name: 'healthFunction',
      methods: ['GET'],
      openApi: [{ anonymous: true }],
      handler: () => {
        answered.push('health');
        return Promise.resolve({ status: 200 });
      },
    };
    await warmUp((message) => warnings.push(message), [open, health]);
    expect(warnings).toEqual([expect.stringMatching(/^warm-up of the HTTP functions failed.*openFunction answered a request without a token with 200/)]);
    // An anonymous function is left alone: it would do its work.
    expect(answered).toEqual([]);
  });
});
