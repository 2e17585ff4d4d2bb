/**
 * Preloaded (NODE_OPTIONS=--import) into a controller under benchmark only: SIGUSR2 runs a full
 * garbage collection, so the bench can read retained heap from /metrics rather than heap
 * that merely has not been collected yet. Changes nothing else in the process.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
process.on('SIGUSR2', () => gc());
