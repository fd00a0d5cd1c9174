/** `iwpl assets list` and `iwpl assets download`: OpenAI's CLIP checkpoints, verified by SHA-256. */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PRETRAINED, getPretrained } from '../../clip/pretrained.ts';
import { defaultAssetsDir, downloadPretrained, downloadVocab } from '../../clip/download.ts';
import { UserError } from '../../util/errors.ts';
import { checkOutputFolder } from '../../util/output.ts';
import { parseIntFlag } from '../flags.ts';

/** Adds `iwpl assets` to the program. */
export function registerAssets(program: Command): void {
  const assets = program.command('assets').description('list and download the official CLIP checkpoints');

  assets.command('list')
    .description('list the official checkpoints and which are in --dir')
    .option('--dir <dir>', 'download folder (default: $IWPL_ASSETS_DIR or ~/.cache/iwpl/clip)')
    .action((opts: { dir?: string }) => {
      const dir = opts.dir ?? defaultAssetsDir();
      const row = (name: string, file: string, status: string, url: string): string => `${name.padEnd(16)} ${file.padEnd(20)} ${status.padEnd(11)} ${url}\n`;
      process.stdout.write(row('NAME', 'FILE', 'STATUS', 'URL'));
      for (const [name, e] of Object.entries(PRETRAINED)) {
        process.stdout.write(row(name, e.file, existsSync(join(dir, e.file)) ? 'downloaded' : '-', e.url));
      }
    });

  assets.command('download')
    .description('download checkpoints and, beside them, CLIP\'s BPE vocabulary (SHA-256 checked, resumable); prints each file\'s path')
    .argument('<names...>', `model names (${Object.keys(PRETRAINED).join(', ')}; OpenAI's "ViT-B/32" spellings too), or "vocab" for the vocabulary alone`)
    .option('--no-vocab', 'do not fetch the BPE vocabulary')
    .option('--dir <dir>', 'download folder (default: $IWPL_ASSETS_DIR or ~/.cache/iwpl/clip)')
    .option('--base-url <url>', 'serve <url>/<sha256>/<file> instead of OpenAI\'s server (default: $IWPL_ASSETS_BASE_URL)')
    .option('--retries <n>', 'further attempts after a failed or dropped connection (each resumes what arrived)', '3')
    .action(async (names: string[], opts: { dir?: string; baseUrl?: string; retries: string; vocab: boolean }) => {
      const options = { dir: opts.dir, baseUrl: opts.baseUrl, retries: parseIntFlag('--retries', opts.retries, 0) };
      await checkOutputFolder(opts.dir ?? defaultAssetsDir(), opts.dir !== undefined ? '--dir' : process.env.IWPL_ASSETS_DIR ? 'IWPL_ASSETS_DIR' : 'download folder');
      const base = opts.baseUrl ?? process.env.IWPL_ASSETS_BASE_URL;
      if (base && !/^https?:\/\/[^/]/.test(base)) {
        throw new UserError(`${opts.baseUrl !== undefined ? '--base-url' : 'IWPL_ASSETS_BASE_URL'} "${base}" is not an http(s):// URL`);
      }
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
