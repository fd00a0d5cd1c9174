/** `iwpl assets list` and `iwpl assets download`: OpenAI's CLIP checkpoints, verified by SHA-256. */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PRETRAINED, getPretrained } from '../../clip/pretrained.ts';
import { defaultAssetsDir, downloadPretrained, downloadVocab } from '../../clip/download.ts';
import { UserError } from '../../util/errors.ts';

/** Adds `iwpl assets` to the program. */
export function registerAssets(program: Command): void {
  const assets = program.command('assets').description('list and download the official CLIP checkpoints');

  assets.command('list')
    .description('list the official checkpoints and which are in --dir')
    .option('--dir <dir>', 'download folder (default: $IWPL_ASSETS_DIR or ~/.cache/iwpl/clip)')
    .action((opts: { dir?: string }) => {
      const dir = opts.dir ?? defaultAssetsDir();
      for (const [name, e] of Object.entries(PRETRAINED)) {
        const here = existsSync(join(dir, e.file)) ? 'downloaded' : '-';
        process.stdout.write(`${name.padEnd(16)} ${e.file.padEnd(20)} ${here.padEnd(11)} ${e.url}\n`);
      }
    });

  assets.command('download')
    .description('download checkpoints and, beside them, CLIP\'s BPE vocabulary (SHA-256 checked, resumable); prints each file\'s path')
    .argument('<names...>', `model names (${Object.keys(PRETRAINED).join(', ')}; OpenAI's "ViT-B/32" spellings too), or "vocab" for the vocabulary alone`)
    .option('--no-vocab', 'do not fetch the BPE vocabulary')
    .option('--dir <dir>', 'download folder (default: $IWPL_ASSETS_DIR or ~/.cache/iwpl/clip)')
    .option('--base-url <url>', 'serve <url>/<sha256>/<file> instead of OpenAI\'s server (default: $IWPL_ASSETS_BASE_URL)')
    .option('--retries <n>', 'attempts after a dropped connection, each resuming', '3')
    .action(async (names: string[], opts: { dir?: string; baseUrl?: string; retries: string; vocab: boolean }) => {
      if (!/^\d+$/.test(opts.retries)) throw new UserError(`--retries must be a non-negative integer (got "${opts.retries}")`);
      const options = { dir: opts.dir, baseUrl: opts.baseUrl, retries: Number(opts.retries) };
      const models = names.filter((n) => n !== 'vocab');
      models.forEach((name) => getPretrained(name)); // every name checked before anything is fetched
      const jobs: [string, () => ReturnType<typeof downloadVocab>][] = models.map((name) => [name, () => downloadPretrained(name, options)]);
      // The vocabulary first: it is small, and embed needs it beside whichever weights arrive.
      if (opts.vocab || models.length < names.length) jobs.unshift(['vocab', () => downloadVocab(options)]);
      for (const [name, run] of jobs) {
        const r = await run();
        process.stderr.write(r.reused ? `${name}: already downloaded and verified\n` : `${name}: downloaded and verified\n`);
        process.stdout.write(`${r.path}\n`);
      }
    });
}
