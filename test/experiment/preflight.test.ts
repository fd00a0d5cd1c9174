/**
 * preflight on the README's main job (experiments/quick-pets.json) on a machine without the
 * downloads: each missing piece is one line naming it and the command that fetches it, in the
 * order the README's first command fetches them (weights, vocabulary, dataset).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { loadExperiment } from '../../src/experiment/load.ts';
import { preflight } from '../../src/experiment/preflight.ts';
import { UserError } from '../../src/util/errors.ts';

const REPO = join(import.meta.dirname, '..', '..');
const QUICK_PETS = join(REPO, 'experiments', 'quick-pets.json');
const TINY = join(REPO, 'test/fixtures/clip/tiny-rn.pt');
const VOCAB = join(REPO, '..', 'shared', 'clip', 'bpe_simple_vocab_16e6.txt.gz');

let tmp: string;
beforeAll(() => { tmp = mkdtempSync(join(tmpdir(), 'iwpl-preflight-')); });
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The one-line message preflight fails with. */
async function failure(sets: string[]): Promise<string> {
  const exp = await loadExperiment(QUICK_PETS, sets);
  const saved = process.env.IWPL_VOCAB;
  delete process.env.IWPL_VOCAB; // the vocabulary is looked for beside the weights, as on a fresh machine
  const err = await preflight(exp).then(() => undefined, (e: unknown) => e).finally(() => { if (saved !== undefined) process.env.IWPL_VOCAB = saved; });
  expect(err).toBeInstanceOf(UserError);
  const message = (err as Error).message;
  expect(message).not.toContain('\n');
  return message;
}

describe('preflight of quick-pets.json without the downloads', () => {
  it('missing RN50 weights: names the file and the assets download command', async () => {
    const weights = join(tmp, 'weights');
    expect(await failure([`model=${join(weights, 'RN50.pt')}`])).toBe(
      `${QUICK_PETS}: model: weights file not found: ${join(weights, 'RN50.pt')}; fetch it with: npx iwpl assets download RN50 --dir ${relative(process.cwd(), weights).startsWith('..') ? weights : relative(process.cwd(), weights)} (or put a copy of RN50.pt there)`);
    // a file that is no official checkpoint gets no command
    expect(await failure([`model=${join(weights, 'mine.pt')}`])).toBe(`${QUICK_PETS}: model: weights file not found: ${join(weights, 'mine.pt')}`);
  });

  it('weights without the vocabulary beside them: names the vocab download command', async () => {
    const weights = join(tmp, 'w2');
    mkdirSync(weights);
    copyFileSync(TINY, join(weights, 'RN50.pt'));
    expect(await failure([`model=${join(weights, 'RN50.pt')}`])).toMatch(
      new RegExp(`vocab: not set, IWPL_VOCAB not set, and no bpe_simple_vocab_16e6\\.txt\\.gz beside the weights in .*w2; fetch it with: npx iwpl assets download vocab --dir .*w2; or set "vocab"`));
  });

  it('no dataset folder: names it and the data download command', async () => {
    const root = join(tmp, 'data');
    const msg = await failure([`model=${TINY}`, `vocab=${VOCAB}`, `dataRoot=${root}`]);
    expect(msg).toMatch(new RegExp(`^dataset oxford_pets \\(${root}/oxford_pets\\): .*; fetch it with: npx iwpl data download oxford_pets --root \\S*data, or point dataRoot \\(--set dataRoot=DIR\\) at the folder holding oxford_pets/$`));
  });
});
