/** `iwpl data check` and `iwpl data fewshot`: dataset validation and Dassl-identical few-shot splits. */
import type { Command } from 'commander';
import { UserError } from '../../util/errors.ts';
import { checkOutput, writeOutput } from '../../util/output.ts';
import { createProgress, type Progress } from '../../util/progress.ts';
import { getDataset } from '../../data/registry.ts';
import { checkDataset, type CheckReport } from '../../data/check.ts';
import { parseSplitObject, readJsonFile } from '../../data/splits.ts';
import { coopFewShot } from '../../data/few-shot.ts';
import { decodeImage } from '../../image/decode.ts';
import { parseBigIntFlag, parseIntFlag } from '../flags.ts';
import { registerDataDownload } from './data-download.ts';

/** Moved to cli/flags.ts (shared by every command); re-exported for existing callers. */
export { parseIntFlag };

function printReport(r: CheckReport, out: NodeJS.WritableStream): void {
  if (r.error !== null) {
    out.write(`${r.dataset}: cannot read the splits: ${r.error}\n`);
    return;
  }
  out.write(`${r.dataset} at ${r.dir}: ${r.counts.classes} classes, train ${r.counts.train}, val ${r.counts.val}, test ${r.counts.test}\n`);
  for (const p of r.missing) out.write(`missing (${p.split}): ${p.path}\n`);
  for (const p of r.unreadable) out.write(`unreadable (${p.split}): ${p.path}: ${p.reason}\n`);
  out.write(r.ok ? 'ok\n' : `${r.missing.length} missing, ${r.unreadable.length} unreadable\n`);
}

/** Adds `iwpl data` to the program. */
export function registerData(program: Command): void {
  const data = program.command('data').description('check datasets in CoOp\'s layout and make few-shot splits');

  data.command('check')
    .description('list the images of a dataset that are missing or unreadable (exit 1 if any)')
    .argument('<dataset>', 'dataset name (oxford_flowers, caltech101, oxford_pets, fgvc_aircraft, dtd, eurosat, food101, stanford_cars, sun397, ucf101, imagenet, folder)')
    .requiredOption('--root <dir>', 'data root holding the dataset folder (CoOp\'s DATASET.ROOT); for "folder", the folder itself')
    .option('--quick', 'only check that the files exist and are not empty (no decoding)')
    .option('--json', 'print the report as JSON on stdout')
    .action(async (name: string, opts: { root: string; quick?: boolean; json?: boolean }) => {
      const spec = getDataset(name);
      let progress: Progress | null = null;
      const report = await checkDataset(spec, opts.root, {
        ...(opts.quick ? {} : { decode: (bytes: Uint8Array, path: string) => decodeImage(bytes, path) }),
        onStart: (n) => { progress = createProgress({ label: `check ${spec.name}`, total: n, unit: 'img' }); },
        onImage: () => (progress as Progress | null)?.tick(),
      });
      (progress as Progress | null)?.done();
      if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else printReport(report, process.stdout);
      if (!report.ok) {
        throw new UserError(report.error ?? `${spec.name}: ${report.missing.length} missing and ${report.unreadable.length} unreadable images under ${report.dir}`);
      }
    });

  registerDataDownload(data);

  data.command('fewshot')
    .description('pick K shots per class from a split file exactly as CoOp/Dassl do for a seed (train K, val min(K,4))')
    .requiredOption('--split <file>', 'CoOp split file (split_zhou_<Name>.json)')
    .requiredOption('--shots <k>', 'shots per class (K)')
    .requiredOption('--seed <s>', 'seed, as random.seed(S)')
    .requiredOption('--output <file>', 'where to write {"train": [[path, label, classname], ...], "val": [...]}: a file (replaced atomically), "-" for stdout, a named pipe or a device')
    .action(async (opts: { split: string; shots: string; seed: string; output: string }) => {
      const shots = parseIntFlag('--shots', opts.shots, 1);
      const seed = parseBigIntFlag('--seed', opts.seed);
      const out = await checkOutput(opts.output, '--output');
      const parsed = parseSplitObject(await readJsonFile(opts.split, 'split file'), opts.split, ['train', 'val']);
      const few = coopFewShot(parsed.train, parsed.val, shots, seed);
      const rows = (items: typeof parsed.train) => items.map((e) => [e.relpath, e.label, e.classname]);
      await writeOutput(out, `${JSON.stringify({ train: rows(few.train), val: rows(few.val) })}\n`);
      process.stderr.write(`wrote ${out.description}: train ${few.train.length}, val ${few.val.length}\n`);
    });
}
