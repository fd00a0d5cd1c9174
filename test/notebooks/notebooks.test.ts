/**
 * Every notebook in notebooks/ runs headless with the tslab kernel (test/notebooks/run_notebook.py,
 * nbclient, errors never allowed) on the tiny CLIP fixture; the quickstart's tables and heatmap must
 * equal what embed() computes in this process for the same files and texts.
 * Needs `bash notebooks/setup.sh` (notebooks/.venv + the tslab kernelspec); the library is compiled to
 * dist/ here (tslab imports ../dist/index.js), so `npm test` alone works after the set-up.
 */
import { describe, it, expect } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { initBackend } from '../../src/backend/select.ts';
import { embed } from '../../src/clip/embed.ts';
import { FIXTURES, argmaxRows, fixtureVocabPath } from '../clip/clip-fixtures.ts';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const NOTEBOOKS = join(ROOT, 'notebooks');
const PYTHON = join(NOTEBOOKS, '.venv', 'bin', 'python');
const OUT = join(ROOT, 'test-output', 'notebooks');
const MODEL = join(FIXTURES, 'tiny-vit.safetensors');
/** The dist/ build and a kernel run on a loaded 2-core machine (~35 s when idle). */
const RUN_TIMEOUT_MS = 400_000;
const NOTEBOOK_FILES = readdirSync(NOTEBOOKS).filter((f) => f.endsWith('.ipynb')).sort();

interface Output { output_type: string; name?: string; text?: string | string[]; data?: Record<string, string | string[]> }
interface Cell { cell_type: string; id?: string; source: string | string[]; metadata: { tags?: string[] }; outputs?: Output[] }
interface Notebook { cells: Cell[]; metadata: { kernelspec?: { name?: string } } }

const joined = (s: string | string[] | undefined): string => (Array.isArray(s) ? s.join('') : s ?? '');
const readNotebook = (file: string): Notebook => JSON.parse(readFileSync(file, 'utf8')) as Notebook;
const cellById = (nb: Notebook, id: string): Cell => {
  const cell = nb.cells.find((c) => c.id === id);
  if (!cell) throw new Error(`no cell with id ${id}`);
  return cell;
};
const dataOf = (cell: Cell, mime: string): string[] =>
  (cell.outputs ?? []).filter((o) => o.output_type === 'display_data' && o.data?.[mime] !== undefined).map((o) => joined(o.data![mime]));
const stdoutOf = (cell: Cell): string =>
  (cell.outputs ?? []).filter((o) => o.output_type === 'stream' && o.name === 'stdout').map((o) => joined(o.text)).join('');

/** Fails (never skips) with what to install when the Jupyter side or the tslab kernel is missing. */
async function requireKernel(): Promise<void> {
  const probe = 'import nbclient, nbformat\nfrom jupyter_client.kernelspec import KernelSpecManager\nKernelSpecManager().get_kernel_spec("tslab")';
  try {
    await run(PYTHON, ['-c', probe], { cwd: ROOT });
  } catch (err) {
    throw new Error('notebook tests need notebooks/.venv (nbclient, nbformat, jupyter_client) and the tslab kernel: ' +
      `run \`bash notebooks/setup.sh\` (Python 3 with venv, npm). Probe failed: ${(err as Error).message}`);
  }
}

let prepared: Promise<void> | undefined;
/** The kernel check and the dist/ build, once; awaited by each test that runs a notebook, so a missing
 * set-up fails those tests (rather than a hook, which vitest reports as skipped tests). */
function prepare(): Promise<void> {
  prepared ??= (async () => {
    await requireKernel();
    try {
      await run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT });
    } catch (err) {
      const e = err as Error & { stdout?: string };
      throw new Error(`npm run build (tsconfig.build.json) failed:\n${e.stdout ?? e.message}`);
    }
    await initBackend();
  })();
  return prepared;
}

const runs = new Map<string, Promise<Notebook>>();
/** Executes a notebook once (memoised); rejects with the failing cell's stderr from the runner. */
function executed(name: string): Promise<Notebook> {
  let p = runs.get(name);
  if (!p) {
    p = (async () => {
      await prepare();
      const files = join(OUT, `${name.replace(/\.ipynb$/, '')}-files`);
      rmSync(files, { recursive: true, force: true });
      mkdirSync(files, { recursive: true });
      const out = join(OUT, name);
      const env = { ...process.env, IWPL_MODEL: MODEL, IWPL_VOCAB: fixtureVocabPath(), IWPL_NOTEBOOK_OUT: files };
      try {
        await run(PYTHON, [join(ROOT, 'test', 'notebooks', 'run_notebook.py'), join(NOTEBOOKS, name), out, '240'],
          { cwd: ROOT, env, maxBuffer: 64 << 20 });
      } catch (err) {
        const e = err as Error & { stderr?: string };
        throw new Error(`${name} failed (partial notebook: ${out}):\n${e.stderr ?? e.message}`);
      }
      return readNotebook(out);
    })();
    runs.set(name, p);
  }
  return p;
}

/** Parses a markdown table after its bold title: header texts, row names, values, bold column per row. */
function parseTable(md: string, title: string): { columns: string[]; rows: string[]; values: number[][]; bold: number[] } {
  const start = md.indexOf(`**${title}**`);
  expect(start, `table "${title}"`).toBeGreaterThanOrEqual(0);
  const lines = md.slice(start).split('\n').slice(2);
  const end = lines.findIndex((l) => !l.startsWith('|'));
  const table = (end < 0 ? lines : lines.slice(0, end)).map((l) => l.split('|').slice(1, -1).map((c) => c.trim()));
  const [header, , ...body] = table;
  const cells = body.map((r) => r.slice(1));
  return {
    columns: header!.slice(1),
    rows: body.map((r) => r[0]!),
    values: cells.map((r) => r.map((c) => Number(c.replaceAll('*', '')))),
    bold: cells.map((r) => r.findIndex((c) => c.startsWith('**'))),
  };
}

const l2 = (v: number[]): number[] => { const n = Math.hypot(...v); return v.map((x) => x / n); };
const softmax = (row: number[]): number[] => {
  const top = Math.max(...row);
  const e = row.map((x) => Math.exp(x - top));
  const z = e.reduce((s, x) => s + x, 0);
  return e.map((x) => x / z);
};

describe('notebooks', () => {
  it('are committed clean: tslab kernel, an id on every cell, no outputs, one `parameters` cell reading the environment', () => {
    expect(NOTEBOOK_FILES).toContain('01-quickstart.ipynb');
    for (const name of NOTEBOOK_FILES) {
      const nb = readNotebook(join(NOTEBOOKS, name));
      expect(nb.metadata.kernelspec?.name, name).toBe('tslab');
      const ids = nb.cells.map((c) => c.id);
      expect(ids.every((id) => typeof id === 'string' && id.length > 0), name).toBe(true);
      expect(new Set(ids).size, name).toBe(ids.length);
      expect(nb.cells.filter((c) => (c.outputs ?? []).length > 0).map((c) => c.id), name).toEqual([]);
      const params = nb.cells.filter((c) => c.metadata.tags?.includes('parameters'));
      expect(params.length, name).toBe(1);
      expect(joined(params[0]!.source), name).toContain('process.env.IWPL_MODEL');
    }
  });

  it.each(NOTEBOOK_FILES)('%s runs headless on the tiny CLIP: every code cell ran, nothing on stderr', async (name) => {
    const nb = await executed(name);
    const code = nb.cells.filter((c) => c.cell_type === 'code');
    expect(code.every((c) => (c as Cell & { execution_count: number | null }).execution_count !== null)).toBe(true);
    const errors = code.flatMap((c) => (c.outputs ?? []).filter((o) => o.output_type === 'error' || o.name === 'stderr')
      .map((o) => `${c.id}: ${joined(o.text)}`));
    expect(errors).toEqual([]);
  }, RUN_TIMEOUT_MS);

  it('01-quickstart: its similarity and probability tables and heatmap equal embed() on the same images and texts', async () => {
    const nb = await executed('01-quickstart.ipynb');
    expect(stdoutOf(cellById(nb, 'setup'))).toMatch(/^tfjs backend: (tensorflow|wasm|cpu)\n$/);
    expect(stdoutOf(cellById(nb, 'model'))).toBe('tiny-vit.safetensors: vit image tower, 64 px input, 32-d embeddings, logit scale 50.00\n');

    const md = dataOf(cellById(nb, 'scores'), 'text/markdown');
    expect(md.length).toBe(1);
    const cos = parseTable(md[0]!, 'cosine similarity');
    const prob = parseTable(md[0]!, 'probability');
    expect(cos.rows).toEqual(['red-circle.png', 'green-square.png', 'blue-triangle.png']);
    expect(cos.columns.length).toBe(3);
    expect(prob.rows).toEqual(cos.rows);
    expect(prob.columns).toEqual(cos.columns);

    // The images the notebook drew (kept in IWPL_NOTEBOOK_OUT), embedded here with the library.
    const files = join(OUT, '01-quickstart-files');
    const images = cos.rows.map((r) => join(files, r));
    expect(images.every((f) => existsSync(f))).toBe(true);
    const ref = await embed({ model: MODEL, vocab: fixtureVocabPath(), images, texts: cos.columns });
    const refCos = ref.image_features.map((a) => { const u = l2(a); return ref.text_features.map((b) => l2(b).reduce((s, x, k) => s + x * u[k]!, 0)); });
    const refProb = ref.logits_per_image.map(softmax);

    const maxDiff = (a: number[][], b: number[][]) => Math.max(...a.flatMap((r, i) => r.map((v, j) => Math.abs(v - b[i]![j]!))));
    expect(maxDiff(cos.values, refCos)).toBeLessThanOrEqual(5.1e-5); // printed with 4 decimals
    expect(maxDiff(prob.values, refProb)).toBeLessThanOrEqual(5.1e-5);
    expect(cos.bold).toEqual(argmaxRows(refCos));
    expect(prob.bold).toEqual(argmaxRows(refProb));
    // Softmax over texts is monotonic in the cosine: the same text wins both tables.
    expect(prob.bold).toEqual(cos.bold);

    // The heatmap's rect marks carry the unrounded probabilities in their aria-labels.
    const svgs = dataOf(cellById(nb, 'heatmap'), 'image/svg+xml');
    expect(svgs.length).toBe(1);
    expect(svgs[0]!.startsWith('<svg')).toBe(true);
    const rectGroup = svgs[0]!.split('class="mark-rect role-mark')[1]!.split('class="mark-text role-mark')[0]!;
    const marks = [...rectGroup.matchAll(/aria-label="text: (.*?); image: (.*?); probability: ([0-9.e-]+)"/g)];
    expect(marks.length).toBe(9);
    for (const [, text, image, p] of marks) {
      const i = cos.rows.indexOf(image!);
      const j = cos.columns.indexOf(text!);
      expect(i >= 0 && j >= 0, `${image} / ${text}`).toBe(true);
      expect(Math.abs(Number(p) - refProb[i]![j]!)).toBeLessThan(1e-6);
    }
  }, RUN_TIMEOUT_MS);
});
