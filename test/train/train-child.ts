/**
 * Child process of the kill-and-resume test: trains the toy problem with checkpoints in argv[2],
 * printing "STEP <epoch> <step>" per step and "MSG <line>" per message. With argv[4] = a step, it
 * prints "HANG" at that step and blocks (mid-epoch) until the parent kills it. At the end it writes
 * the variables to argv[3] (safetensors) and prints "DONE".
 */
import { initBackend } from '../../src/backend/select.ts';
import { serializeSafetensors } from '../../src/io/safetensors.ts';
import { trainLoop } from '../../src/train/loop.ts';
import { writeFileAtomic } from '../../src/util/fs-atomic.ts';
import { makeToyProblem } from './toy-problem.ts';
import { KILL_TEST_OPTIONS } from './kill-test-options.ts';

const [checkpointDir, outFile, hangArg] = process.argv.slice(2);
const hangAt = hangArg === undefined ? -1 : Number(hangArg);
await initBackend();
const problem = makeToyProblem();
await trainLoop({
  ...KILL_TEST_OPTIONS, problem, checkpointDir: checkpointDir!, progress: false,
  events: {
    onStep(e) {
      process.stdout.write(`STEP ${e.epoch} ${e.step}\n`);
      if (e.step === hangAt) {
        process.stdout.write('HANG\n');
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120_000); // blocks this thread mid-epoch
      }
    },
    onMessage(line) { process.stdout.write(`MSG ${line}\n`); },
  },
});
await writeFileAtomic(outFile!, serializeSafetensors(new Map(Object.entries(problem.variables).map(([k, v]) => [k, { shape: v.shape, data: v.dataSync() as Float32Array }]))));
process.stdout.write('DONE\n');
