/** `iwpl data download`: a dataset from its original sources into CoOp's layout, checked. */
import type { Command } from 'commander';
import { downloadDataset } from '../../data/download.ts';
import { DATASET_SOURCES } from '../../data/download-sources.ts';
import { parseIntFlag } from '../flags.ts';

/** The datasets that can be downloaded, as the help lists them. */
const AVAILABLE = 'oxford_pets, oxford_flowers, caltech101, fgvc_aircraft';

/** Adds `download` to the `iwpl data` command. */
export function registerDataDownload(data: Command): void {
  data.command('download')
    .description('download a dataset from its original sources into CoOp\'s layout (<root>/<folder>): SHA-256/size checked where pinned, resumable, '
      + 'extracted into <root>/.<folder>.partial, checked (every split image present, CoOp\'s class and image counts), then moved into place; prints the folder')
    .argument('<dataset>', `dataset name (${AVAILABLE})`)
    .requiredOption('--root <dir>', 'data root (CoOp\'s DATASET.ROOT): the dataset lands in <root>/<folder>')
    .option('--from <dir>', 'a folder holding files already downloaded (same names, e.g. images.tar.gz, split_zhou_OxfordPets.json): used instead of fetching them')
    .option('--base-url <url>', 'fetch <url>/<folder>/<file> instead of the original addresses (default: $IWPL_DATA_BASE_URL)')
    .option('--keep-archives', 'keep the downloaded archives in <root>/.<folder>.download after success')
    .option('--decode', 'decode every image in the final check (slower)')
    .option('--retries <n>', 'further attempts after a failed or dropped connection (each resumes what arrived)', '3')
    .option('--json', 'print the result (files, their origin, the check report) as JSON on stdout')
    .addHelpText('after', `\nSources: ${Object.keys(DATASET_SOURCES).join(', ')}; archives from their publishers, split files from CoOp's Google Drive\n`
      + '(when Drive answers with a web page, the command says which file to fetch by hand; pass its folder with --from).')
    .action(async (name: string, opts: { root: string; from?: string; baseUrl?: string; keepArchives?: boolean; decode?: boolean; retries: string; json?: boolean }) => {
      const r = await downloadDataset(name, {
        root: opts.root, from: opts.from, baseUrl: opts.baseUrl, keepArchives: opts.keepArchives ?? false, decode: opts.decode ?? false,
        retries: parseIntFlag('--retries', opts.retries, 0),
      });
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
        return;
      }
      const c = r.report.counts;
      process.stderr.write(`${r.dataset}${r.alreadyThere ? ' was already there' : ''}: ${c.classes} classes, train ${c.train}, val ${c.val}, test ${c.test}: ok\n`);
      process.stdout.write(`${r.dir}\n`);
    });
}
