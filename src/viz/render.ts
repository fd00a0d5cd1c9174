/**
 * Headless rendering of vega-lite specs: compile (vega-lite 5), render to SVG with vega's View in
 * Node (`renderer: 'none'`, text widths estimated: no node-canvas), rasterise the SVG to PNG with
 * sharp (librsvg inside libvips; text through fontconfig, e.g. Debian's fonts-dejavu-core).
 * vega and vega-lite are loaded on first use, so the spec builders work without them.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { Spec as VegaSpec } from 'vega';
import { UserError } from '../util/errors.ts';
import { writeFileAtomic } from '../util/fs-atomic.ts';

/** A rendered chart and what vega-lite and vega warned about while making it. */
export interface RenderedSvg {
  readonly svg: string;
  /** Compile- and run-time warnings (an empty list for a clean spec). */
  readonly warnings: readonly string[];
}

/** Options of {@link renderPng} and {@link writeChart}. */
export interface PngOptions {
  /** Pixels per SVG unit (2 = a sharp image on high-density screens and in PDFs). @default 2 */
  readonly scale?: number;
}

/** Which files {@link writeChart} writes. */
export type ChartFormat = 'vl.json' | 'svg' | 'png';

type VegaModule = typeof import('vega');
type VegaLiteModule = typeof import('vega-lite');

let modules: Promise<{ vega: VegaModule; vl: VegaLiteModule }> | undefined;

/** Loads vega and vega-lite once; a missing package is a UserError saying what to install. */
function loadVega(): Promise<{ vega: VegaModule; vl: VegaLiteModule }> {
  modules ??= (async () => {
    try {
      const [vega, vl] = await Promise.all([import('vega'), import('vega-lite')]);
      // CommonJS builds: the functions may sit on the namespace or on its default export.
      const pick = <T>(m: T): T => ((m as { default?: T }).default ?? m);
      return { vega: pick(vega), vl: pick(vl) };
    } catch (err) {
      modules = undefined;
      if ((err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') {
        throw new UserError(`rendering charts needs vega@5 and vega-lite@5 (${(err as Error).message.split('\n')[0]}): run npm install vega@5 vega-lite@5`);
      }
      throw err;
    }
  })();
  return modules;
}

/** A vega logger that collects warnings and errors as text (nothing is printed). */
function collectingLogger(into: string[]): import('vega').LoggerInterface {
  let level = 2; // vega.Warn
  const logger = {
    level(l?: number) { if (l === undefined) return level; level = l; return logger; },
    error(...args: readonly unknown[]) { into.push(`error: ${args.map(String).join(' ')}`); return logger; },
    warn(...args: readonly unknown[]) { into.push(args.map(String).join(' ')); return logger; },
    info() { return logger; },
    debug() { return logger; },
  };
  return logger as import('vega').LoggerInterface;
}

/**
 * Compiles a vega-lite spec to a vega spec, collecting vega-lite's warnings.
 * @throws UserError naming vega-lite's complaint when the spec cannot be compiled.
 */
export async function compileSpec(spec: TopLevelSpec): Promise<{ readonly vega: VegaSpec; readonly warnings: readonly string[] }> {
  const { vl } = await loadVega();
  const warnings: string[] = [];
  try {
    return { vega: vl.compile(spec, { logger: collectingLogger(warnings) }).spec, warnings };
  } catch (err) {
    throw new UserError(`vega-lite cannot compile the chart: ${(err as Error).message}`);
  }
}

/** Renders a vega-lite spec to SVG text (with the warnings met on the way). */
export async function renderSvgWithWarnings(spec: TopLevelSpec): Promise<RenderedSvg> {
  const { vega } = await loadVega();
  const compiled = await compileSpec(spec);
  const warnings = [...compiled.warnings];
  const view = new vega.View(vega.parse(compiled.vega), { renderer: 'none', logger: collectingLogger(warnings) });
  try {
    return { svg: await view.toSVG(), warnings };
  } finally {
    view.finalize();
  }
}

/** Renders a vega-lite spec to SVG text. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  return (await renderSvgWithWarnings(spec)).svg;
}

/** Rasterises SVG text to PNG bytes (white background). */
export async function svgToPng(svg: string, options: PngOptions = {}): Promise<Uint8Array> {
  const scale = options.scale ?? 2;
  if (!(scale > 0 && scale <= 8)) throw new UserError(`PNG scale must be in (0, 8] (got ${scale})`);
  const { default: sharp } = await import('sharp');
  const png = await sharp(Buffer.from(svg), { density: 72 * scale }).flatten({ background: '#ffffff' }).png().toBuffer();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}

/** Renders a vega-lite spec to PNG bytes. */
export async function renderPng(spec: TopLevelSpec, options: PngOptions = {}): Promise<Uint8Array> {
  return svgToPng(await renderSvg(spec), options);
}

/**
 * Writes a chart as `<base>.vl.json` (the spec), `<base>.svg` and `<base>.png`, each atomically;
 * returns the paths written, in that order.
 * @example await writeChart(methodBarsSpec(rows), 'out/table') // out/table.vl.json, .svg, .png
 */
export async function writeChart(spec: TopLevelSpec, base: string, formats: readonly ChartFormat[] = ['vl.json', 'svg', 'png'], options: PngOptions = {}): Promise<string[]> {
  const paths: string[] = [];
  const svg = formats.includes('svg') || formats.includes('png') ? await renderSvg(spec) : '';
  for (const format of formats) {
    const path = `${base}.${format}`;
    const data = format === 'vl.json' ? `${JSON.stringify(spec, null, 2)}\n` : format === 'svg' ? svg : await svgToPng(svg, options);
    await writeFileAtomic(path, data);
    paths.push(path);
  }
  return paths;
}
