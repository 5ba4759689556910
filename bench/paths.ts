/** Where things are, resolved from dist/bench (the compiled harness) back to the source tree. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The repository root (dist/bench/../..). */
export const ROOT = path.resolve(here, '../..');
export const SIPSTATE_MAIN = path.join(ROOT, 'dist/src/cli/main.js');
export const SCENARIOS = path.join(ROOT, 'bench/sipp');
export const KAMAILIO_CFG = path.join(ROOT, 'bench/kamailio/kamailio.cfg');
export const BENCHMARKS_MD = path.join(ROOT, 'BENCHMARKS.md');
/** The compiled journal child (run pinned to the server core). */
export const JOURNAL_WORKER = path.join(here, 'journalWorker.js');
/** The relay of bench/nodeFloor.ts. */
export const FLOOR_RELAY = path.join(here, 'floorRelay.js');
