import { app } from '@azure/functions';
import { httpFunctions } from './catalog';
import { reconcileMembershipsTimer } from './reconcileMemberships';

// The entry point the Functions host loads (package.json "main"): it only registers.
app.setup({ enableHttpStream: false });

for (const { name, ...options } of httpFunctions) {
  app.http(name, { ...options, methods: [...options.methods] });
}

const { name: timerName, ...timerOptions } = reconcileMembershipsTimer;
app.timer(timerName, timerOptions);

export { httpFunctions };
