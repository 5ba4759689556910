#!/usr/bin/env node
import { runProxy } from './runProxy.js';

const argv = process.argv.slice(2);
runProxy(argv).catch((e: Error) => {
  process.stderr.write(`sipstate: ${e.message}\n`);
  process.exit(1);
});
