/**
 * Child process for the lifecycle test: logs 1500 points (1000 go out in a batch, 500 stay
 * buffered), prints READY, then is either killed by the parent (mode "signal") or crashes with an
 * uncaught error (mode "throw"). guardProcess must flush the rest and end the run KILLED / FAILED.
 */
import { openTracker } from '../../src/tracking/select.ts';
import { guardProcess } from '../../src/tracking/lifecycle.ts';

const mode = process.argv[2];
const tracker = await openTracker({ fallbackToOffline: false, buffer: { intervalMs: 0 } });
guardProcess(tracker);
const run = await tracker.startRun({ experimentName: 'iwpl/lifecycle', runName: `child-${mode}` });
for (let i = 0; i < 1500; i++) run.logMetric('train/loss', 1 / (i + 1), i);
await new Promise((r) => setTimeout(r, 200));
process.stdout.write(`READY ${run.runId}\n`);
if (mode === 'throw') {
  setTimeout(() => { throw new Error('boom: crashed mid-run'); }, 50);
} else {
  setInterval(() => undefined, 1000); // stays alive until signalled
}
