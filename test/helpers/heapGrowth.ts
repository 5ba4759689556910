import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * How much the V8 heap still holds after `fn` ran, between two full collections: what `fn` left
 * alive. For tests that a kept value does not keep the larger text it was cut from.
 */
export function heapGrowthOf(fn: () => void): number {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  gc();
  const before = process.memoryUsage().heapUsed;
  fn();
  gc();
  return process.memoryUsage().heapUsed - before;
}
