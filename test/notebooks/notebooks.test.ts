/**
 * Every notebook in notebooks/ runs headless with the tslab kernel (test/notebooks/run_notebook.py,
 * nbclient, errors never allowed) in smoke mode: the tiny CLIP fixture, the fixture datasets, a real
 * MLflow server (tracking/local-server.ts). The quickstart's tables and heatmap must equal what
 * embed() computes in this process; 02 and 03 run experiments/smoke.json and smoke-ablation.json
 * into MLflow and keep their charts as SVG outputs; 04 reads 02's runs back over REST. Each kernel
 * gets its own TMPDIR, which must hold no `iwpl-` folder afterwards, also when a cell fails.
 * Needs `bash notebooks/setup.sh` (notebooks/.venv + the tslab kernelspec) and `bash
 * tracking/setup.sh` (MLflow); the library is compiled to dist/ here (tslab imports
 * ../dist/index.js, like `npm run build`), so `npm test` alone works after the set-up.
 */
import { afterAll, describe, it, expect } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { initBackend } from '../../src/backend/select.ts';
import { embed } from '../../src/clip/embed.ts';
import { FIXTURES, argmaxRows, fixtureVocabPath } from '../clip/clip-fixtures.ts';
import { MLFLOW_BIN, startLocalMlflow, type LocalMlflow } from '../../tracking/local-server.ts';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const NOTEBOOKS = join(ROOT, 'notebooks');
const PYTHON = join(NOTEBOOKS, '.venv', 'bin', 'python');
const OUT = join(ROOT, 'test-output', 'notebooks');
const MODEL = join(FIXTURES, 'tiny-vit.safetensors');
/** The dist/ build, the MLflow server's start and a kernel run on a loaded 2-core machine (~35 s when idle). */
const RUN_TIMEOUT_MS = 400_000;
/** The notebooks' smoke parameters (paths relative to notebooks/, as a user would give them). */
const SMOKE_ENV: Readonly<Record<string, Record<string, string>>> = {
  '02-reproduce-table.ipynb': { IWPL_EXPERIMENT: '../experiments/smoke.json' },
  '03-ablation-prompt-counts.ipynb': { IWPL_EXPERIMENT: '../experiments/smoke-ablation.json' },
  '04-compare-runs.ipynb': { IWPL_MLFLOW_EXPERIMENT: 'iwpl/smoke' },
};
/** Kernels' TMPDIRs and the server's folder, removed at the end. */
const TEMP_ROOT = mkdtempSync(join(tmpdir(), 'iwpl-nbtest-'));
let server: LocalMlflow | undefined;
afterAll(async () => {
  await server?.stop();
  rmSync(TEMP_ROOT, { recursive: true, force: true });
});
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
    if (!existsSync(MLFLOW_BIN)) throw new Error(`notebooks 02-04 log to MLflow: ${MLFLOW_BIN} is missing; run \`bash tracking/setup.sh\``);
    // The server starts while dist/ is compiled (each takes tens of seconds on a loaded machine).
    const serverUp = (async () => { server = await startLocalMlflow({ dir: mkdtempSync(join(TEMP_ROOT, 'mlflow-')) }); })();
    try {
      await run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT });
    } catch (err) {
      await serverUp.catch(() => {}); // started or not, afterAll stops it
      const e = err as Error & { stdout?: string };
      throw new Error(`npm run build (tsconfig.build.json) failed:\n${e.stdout ?? e.message}`);
    }
    await serverUp;
    await initBackend();
  })();
  return prepared;
}

/** The `iwpl-` entries left in a kernel's TMPDIR. */
const leftovers = (dir: string): string[] => readdirSync(dir).filter((f) => f.startsWith('iwpl-'));

/** What a kernel run gives back: the executed (or partial) notebook, the runner's stderr, the kernel's TMPDIR. */
interface Execution { nb: Notebook; failed: boolean; stderr: string; tmp: string }

/** Runs a notebook in a fresh kernel with the smoke environment plus `extra`; never throws for a failing cell. */
async function execute(name: string, key: string, extra: Record<string, string> = {}): Promise<Execution> {
  await prepare();
  const files = join(OUT, `${key}-files`);
  rmSync(files, { recursive: true, force: true });
  mkdirSync(files, { recursive: true });
  const tmp = mkdtempSync(join(TEMP_ROOT, `${key}-tmp-`));
  const out = join(OUT, `${key}.ipynb`);
  const env = {
    ...process.env, IWPL_MODEL: MODEL, IWPL_VOCAB: fixtureVocabPath(), IWPL_NOTEBOOK_OUT: files,
    MLFLOW_TRACKING_URI: server!.uri, TMPDIR: tmp, ...SMOKE_ENV[name], ...extra,
  };
  try {
    await run(PYTHON, [join(ROOT, 'test', 'notebooks', 'run_notebook.py'), join(NOTEBOOKS, name), out, '240'],
      { cwd: ROOT, env, maxBuffer: 64 << 20 });
    return { nb: readNotebook(out), failed: false, stderr: '', tmp };
  } catch (err) {
    const e = err as Error & { stderr?: string };
    if (!existsSync(out)) throw new Error(`${name}: the runner wrote no notebook:\n${e.stderr ?? e.message}`);
    return { nb: readNotebook(out), failed: true, stderr: e.stderr ?? e.message, tmp };
  }
}

const runs = new Map<string, Promise<Notebook>>();
/** Executes a notebook once (memoised); rejects with the failing cell's stderr from the runner. */
function executed(name: string): Promise<Notebook> {
  let p = runs.get(name);
  if (!p) {
    p = (async () => {
      // 04 compares the runs 02 logged: 02 runs first.
      if (name === '04-compare-runs.ipynb') await executed('02-reproduce-table.ipynb');
      const key = name.replace(/\.ipynb$/, '');
      const r = await execute(name, key);
      if (r.failed) throw new Error(`${name} failed (partial notebook: ${join(OUT, `${key}.ipynb`)}):\n${r.stderr}`);
      expect(leftovers(r.tmp), `${name}: temporary folders left in its TMPDIR`).toEqual([]);
      return r.nb;
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
    expect(NOTEBOOK_FILES).toEqual(['01-quickstart.ipynb', '02-reproduce-table.ipynb', '03-ablation-prompt-counts.ipynb', '04-compare-runs.ipynb']);
    for (const name of NOTEBOOK_FILES) {
      const nb = readNotebook(join(NOTEBOOKS, name));
      expect(nb.metadata.kernelspec?.name, name).toBe('tslab');
      const ids = nb.cells.map((c) => c.id);
      expect(ids.every((id) => typeof id === 'string' && id.length > 0), name).toBe(true);
      expect(new Set(ids).size, name).toBe(ids.length);
      expect(nb.cells.filter((c) => (c.outputs ?? []).length > 0).map((c) => c.id), name).toEqual([]);
      const params = nb.cells.filter((c) => c.metadata.tags?.includes('parameters'));
      expect(params.length, name).toBe(1);
      const source = joined(params[0]!.source);
      expect(source, name).toMatch(/process\.env\.(IWPL|MLFLOW)_/);
      // Those that load CLIP take the weights from IWPL_MODEL (04 only reads MLflow).
      if (!name.startsWith('04')) expect(source, name).toContain('process.env.IWPL_MODEL');
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
  it('02-reproduce-table: says the weights are random, runs the smoke experiment into MLflow, shows the table beside the paper and the method bars as SVG', async () => {
    const nb = await executed('02-reproduce-table.ipynb');
    const experiment = cellById(nb, 'experiment');
    expect(stdoutOf(experiment)).toMatch(/^RANDOM WEIGHTS: tiny-vit\.safetensors \(7\.\d MB\) is not an OpenAI release/m);
    expect(dataOf(experiment, 'text/markdown').join('')).toContain('**Random weights.**');
    const log = stdoutOf(cellById(nb, 'run'));
    expect(log).toMatch(/^output folder: .*iwpl-nb02-\S+ \(temporary: removed when this cell ends\)$/m);
    expect(log).toContain(`→ mlflow ${server!.uri} (experiment iwpl/smoke`);
    const accuracies = [...log.matchAll(/^\[\d\/5\] (\S+): test accuracy ([0-9.]+)%/gm)];
    expect(accuracies.map((m) => m[1]!.split('-oxford_flowers')[0])).toEqual(['zeroshot', 'linear-probe', 'coop', 'lfa', 'iwpl']);
    expect(log).toMatch(new RegExp(`^MLflow UI: ${server!.uri}/#/experiments/\\d+/runs/[0-9a-f]{32}$`, 'm'));
    const table = dataOf(cellById(nb, 'table'), 'text/markdown').join('');
    expect(table).toContain('| Method | Flowers102 | Flowers102 (paper) |');
    for (const [, runName, acc] of accuracies) {
      const method = { zeroshot: 'ZS CLIP', 'linear-probe': 'LP CLIP', coop: 'CoOp', lfa: 'LFA', iwpl: 'IWPL' }[runName!.split('-oxford_flowers')[0]!]!;
      expect(table).toMatch(new RegExp(`^\\| ${method} \\| ${Number(acc).toFixed(2)}( ± 0\\.00)? \\|`, 'm'));
    }
    const svgs = dataOf(cellById(nb, 'bars'), 'image/svg+xml');
    expect(svgs.length).toBe(1);
    expect(svgs[0]!.startsWith('<svg')).toBe(true);
    expect(svgs[0]).toContain('(random weights)');
    expect(svgs[0]).toContain('paper (4-shot RN50)');
  }, RUN_TIMEOUT_MS);

  it('03-ablation-prompt-counts: charts the S x k smoke ablation (accuracy vs S and vs k, error bars over seeds) as SVG', async () => {
    const nb = await executed('03-ablation-prompt-counts.ipynb');
    expect(stdoutOf(cellById(nb, 'experiment'))).toMatch(/^RANDOM WEIGHTS: tiny-vit\.safetensors/m);
    expect(stdoutOf(cellById(nb, 'points'))).toBe('12 IWPL runs: S in {1, 2, 4}, k in {1, 4}, shots 4, seeds 1, 2\n');
    const table = dataOf(cellById(nb, 'points'), 'text/markdown').join('');
    for (const label of ['iwpl-S1-k1', 'iwpl-S1-k4', 'iwpl-S2-k1', 'iwpl-S2-k4', 'iwpl-S4-k1', 'iwpl-S4-k4']) {
      expect(table).toMatch(new RegExp(`^\\| ${label} \\| \\d+\\.\\d\\d ± \\d+\\.\\d\\d \\|$`, 'm'));
    }
    const svgs = dataOf(cellById(nb, 'charts'), 'image/svg+xml');
    expect(svgs.length).toBe(2);
    expect(svgs[0]).toContain('accuracy vs prompts sampled per class (S), 4 shots (random weights)');
    expect(svgs[1]).toContain('accuracy vs prompts selected per class (k), 4 shots (random weights)');
    // Error bars = mean ± np.std over the two seeds of the accuracies the run cell logged (2 decimals there).
    const logged = [...stdoutOf(cellById(nb, 'run')).matchAll(/^\[\d+\/12\] iwpl-S(\d)-k(\d)-oxford_pets-4shot-s\d: test accuracy ([0-9.]+)%/gm)];
    expect(logged.length).toBe(12);
    const expected = new Map<string, number[]>();
    for (const [, S, k, acc] of logged) expected.set(`${S},${k}`, [...(expected.get(`${S},${k}`) ?? []), Number(acc)]);
    const bars = (svg: string, x: string, series: string) => [...svg.matchAll(new RegExp(
      `aria-label="${x}: (\\d+); accuracy \\(%\\): [0-9.]+; upper_lo: [0-9.]+; ${series}: [Sk] = (\\d+); hi: ([0-9.]+); lo: ([0-9.]+)"`, 'g'))];
    const bySampled = bars(svgs[0]!, 'training prompts per class \\(S\\)', 'test top-k');
    const bySelected = bars(svgs[1]!, 'test prompts per class \\(top-k\\)', 'training S');
    expect(bySampled.length).toBe(6);
    expect(bySelected.length).toBe(6);
    const check = (key: string, hi: number, lo: number) => {
      const accs = expected.get(key)!;
      const mean = (accs[0]! + accs[1]!) / 2;
      const std = Math.abs(accs[0]! - accs[1]!) / 2;
      expect(Math.abs(hi - (mean + std)), key).toBeLessThan(0.01);
      expect(Math.abs(lo - (mean - std)), key).toBeLessThan(0.01);
    };
    for (const [, S, k, hi, lo] of bySampled) check(`${S},${k}`, Number(hi), Number(lo));
    for (const [, k, S, hi, lo] of bySelected) check(`${S},${k}`, Number(hi), Number(lo));
  }, RUN_TIMEOUT_MS);

  it("04-compare-runs: reads back over REST the runs 02 logged, side by side, with their test accuracies and loss curves as SVG", async () => {
    const nb02 = await executed('02-reproduce-table.ipynb');
    const nb = await executed('04-compare-runs.ipynb');
    const log02 = stdoutOf(cellById(nb02, 'run'));
    const parent = /^parent run ([0-9a-f]{32}): 5 runs/m.exec(log02)![1]!;
    const logged = [...log02.matchAll(/^\[\d\/5\] (\S+): test accuracy ([0-9.]+)%/gm)].map((m) => ({ name: m[1]!, acc: Number(m[2]) }));
    const query = stdoutOf(cellById(nb, 'query'));
    expect(query).toContain(`parent run ${parent} (smoke, FINISHED): 5 child runs`);
    const listed = [...query.matchAll(/^[0-9a-f]{32} {2}(\S+) {2}FINISHED$/gm)].map((m) => m[1]);
    expect(listed).toEqual(logged.map((r) => r.name));
    const table = dataOf(cellById(nb, 'table'), 'text/markdown').join('');
    const header = table.split('\n').find((l) => l.startsWith('| |'))!.split('|').slice(2, -1).map((c) => c.trim());
    expect(header).toEqual(logged.map((r) => r.name));
    const accRow = table.split('\n').find((l) => l.startsWith('| **test/acc** |'))!.split('|').slice(2, -1).map((c) => Number(c.trim()));
    accRow.forEach((a, i) => expect(Math.abs(a - logged[i]!.acc)).toBeLessThan(0.006));
    expect(table).toMatch(/^\| method\.name \| zeroshot \| linear-probe \| coop \| lfa \| iwpl \|$/m);
    const bars = dataOf(cellById(nb, 'accuracy'), 'image/svg+xml');
    expect(bars.length).toBe(1);
    for (const r of logged) expect(bars[0]).toContain(r.name);
    // coop, lfa and iwpl train by steps: three loss curves from MLflow's metric history.
    expect(stdoutOf(cellById(nb, 'curves'))).toMatch(/^train\/loss history: \d+ points from 3 runs\n$/);
    expect(dataOf(cellById(nb, 'curves'), 'image/svg+xml').length).toBe(1);
  }, RUN_TIMEOUT_MS);

  it('04-compare-runs with IWPL_RUN_IDS: compares exactly the runs asked for, in that order', async () => {
    const nb02 = await executed('02-reproduce-table.ipynb');
    // The ids of 02's coop and iwpl runs, as the default 04 run listed them.
    const listed = stdoutOf(cellById(await executed('04-compare-runs.ipynb'), 'query'));
    const ids = [...listed.matchAll(/^([0-9a-f]{32}) {2}(\S+) {2}FINISHED$/gm)].filter((m) => /^(iwpl|coop)-/.test(m[2]!));
    expect(ids.map((m) => m[2]!.split('-')[0])).toEqual(['coop', 'iwpl']);
    expect(stdoutOf(cellById(nb02, 'run'))).toContain(ids[0]![2]!);
    const r = await execute('04-compare-runs.ipynb', '04-by-ids', { IWPL_RUN_IDS: `${ids[1]![1]}, ${ids[0]![1]}` });
    expect(r.failed, r.stderr).toBe(false);
    expect(stdoutOf(cellById(r.nb, 'query'))).toBe(`2 runs by id\n${ids[1]![1]}  ${ids[1]![2]}  FINISHED\n${ids[0]![1]}  ${ids[0]![2]}  FINISHED\n`);
    const header = dataOf(cellById(r.nb, 'table'), 'text/markdown').join('').split('\n').find((l) => l.startsWith('| |'))!;
    expect(header).toBe(`| | ${ids[1]![2]} | ${ids[0]![2]} |`);
    expect(stdoutOf(cellById(r.nb, 'curves'))).toMatch(/^train\/loss history: \d+ points from 2 runs\n$/);
  }, RUN_TIMEOUT_MS);

  it('a failing cell leaves no temporary folder: 02 on a missing data root fails inside its run cell, 03 on an experiment without IWPL runs fails after it', async () => {
    const empty = mkdtempSync(join(TEMP_ROOT, 'no-data-'));
    const [inRun, after] = await Promise.all([
      execute('02-reproduce-table.ipynb', '02-fails-in-run', { IWPL_SET: `dataRoot=${empty}` }),
      execute('03-ablation-prompt-counts.ipynb', '03-fails-after-run', { IWPL_SET: 'methods=[{"name":"zeroshot"}]' }),
    ]);
    // 02: the run cell made its temporary output folder, then runExperiment's checks threw.
    expect(inRun.failed).toBe(true);
    expect(inRun.stderr).toContain('(id run)');
    expect(inRun.stderr).toContain(empty);
    const made02 = /^output folder: (\S+) \(temporary/m.exec(stdoutOf(cellById(inRun.nb, 'run')))?.[1];
    expect(made02?.startsWith(join(inRun.tmp, 'iwpl-nb02-'))).toBe(true);
    expect(existsSync(made02!)).toBe(false);
    expect(leftovers(inRun.tmp)).toEqual([]);
    // 03: the run finished (zero-shot only); the next cell refused to chart it.
    expect(after.failed).toBe(true);
    expect(after.stderr).toContain('(id points)');
    expect(after.stderr).toContain('no IWPL runs that vary trainPromptsPerClass or testTopK');
    const made03 = /^output folder: (\S+) \(temporary/m.exec(stdoutOf(cellById(after.nb, 'run')))?.[1];
    expect(made03?.startsWith(join(after.tmp, 'iwpl-nb03-'))).toBe(true);
    expect(leftovers(after.tmp)).toEqual([]);
    expect((cellById(after.nb, 'charts') as Cell & { execution_count: number | null }).execution_count).toBeNull();
  }, RUN_TIMEOUT_MS);
});
