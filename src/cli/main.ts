#!/usr/bin/env -S node --max-semi-space-size=4
import { tuneHeap } from '../util/heapTuning.js';
import { runProxy } from './runProxy.js';
import { runReplay } from './replay.js';
import { runCalls } from './calls.js';
import { runUser } from './userAdd.js';

/** `sipstate [options]` runs the proxy; `sipstate replay|calls ...` work on the journal. */
async function main(argv: string[]): Promise<number> {
  tuneHeap();
  switch (argv[0]) {
    case 'replay':
      return runReplay(argv.slice(1));
    case 'calls':
      return runCalls(argv.slice(1));
    // `sipstate user add NAME ...`: the digest users file (src/auth/users.ts).
    case 'user':
      return runUser(argv.slice(1));
    default:
      await runProxy(argv);
      return 0;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: Error) => {
    process.stderr.write(`sipstate: ${e.message}\n`);
    process.exit(1);
  },
);
