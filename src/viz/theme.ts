/** Look shared by every iwpl chart (vega-lite `config`), and the schema URL of the version tslab loads. */
import type { Config } from 'vega-lite';

/** vega-lite v5: JupyterLab renders v3–v5 (not v6), and tslab loads v5's CommonJS build. */
export const VEGA_LITE_SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';

/** The Jupyter mime type of a v5 spec (`tslab.display.raw(VEGA_LITE_MIME, spec)`). */
export const VEGA_LITE_MIME = 'application/vnd.vegalite.v5+json';

/** Default chart width and height of one panel, px. */
export const PANEL = Object.freeze({ width: 320, height: 220 });

/**
 * Chart config: a white background (PNGs have no transparency), DejaVu-friendly sans-serif text
 * a little larger than vega's default (readable when scaled down in a report), 10 px padding so
 * labels at the edge are not clipped. Label limits are generous because vega in Node has no canvas
 * and estimates a text's width as 0.8 em per character (DejaVu Sans is ~0.6): a 12 px legend label
 * is cut with "…" only beyond about 50 characters.
 */
export const CHART_CONFIG: Config = Object.freeze({
  background: 'white',
  padding: 10,
  font: 'sans-serif',
  title: { fontSize: 15, subtitleFontSize: 12, anchor: 'start' },
  axis: { labelFontSize: 12, titleFontSize: 13, labelLimit: 360 },
  legend: { labelFontSize: 12, titleFontSize: 13, labelLimit: 480, titleLimit: 480 },
  header: { labelFontSize: 13, titleFontSize: 13 },
}) as Config;
