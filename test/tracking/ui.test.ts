/**
 * The MLflow UI, opened by headless Chromium (Debian's package, driven by playwright-core), shows a
 * parent run whose child runs appear when it is expanded, and a metric chart on a child's page.
 * Screenshots go to test-output/tracking-ui/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { startServer } from './helpers.ts';
import type { LocalMlflow } from '../../tracking/local-server.ts';
import { MlflowRestClient } from '../../src/tracking/mlflow-rest.ts';
import { MlflowTracker } from '../../src/tracking/mlflow-tracker.ts';

const CHROMIUM = '/usr/bin/chromium';
const OUT = resolve('test-output', 'tracking-ui');
let server: LocalMlflow;
let browser: Browser | undefined;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's Chromium (apt-get install -y chromium fonts-dejavu-core); .ci/run does this`);
  }
  mkdirSync(OUT, { recursive: true });
  server = await startServer();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('MLflow UI', () => {
  it('shows the parent run, its children and a metric chart', async () => {
    const client = new MlflowRestClient({ uri: server.uri });
    const tracker = new MlflowTracker(client, { buffer: { intervalMs: 0 } });
    const parent = await tracker.startRun({ experimentName: 'iwpl/ui', runName: 'ui-sweep-parent' });
    const children: string[] = [];
    for (const seed of [1, 2]) {
      const child = await tracker.startRun({ experimentName: 'iwpl/ui', runName: `ui-child-s${seed}`, parentRunId: parent.runId });
      children.push(child.runId);
      for (let s = 0; s < 30; s++) child.logMetric('train/loss', 2 / (s + seed), s);
      await child.end();
    }
    await parent.end();
    const expId = (await client.getExperimentByName('iwpl/ui'))!.experiment_id;

    const page = await browser!.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(`${server.uri}/#/experiments/${expId}/runs`);
    const parentRow = page.locator('[role=row]', { hasText: 'ui-sweep-parent' }).first();
    await parentRow.waitFor({ timeout: 90_000 });
    // children are folded under the parent until its expander is clicked
    expect(await page.getByText('ui-child-s1').count()).toBe(0);
    await parentRow.locator('button[data-component-id*="runnamecellrenderer"]').first().click();
    await page.getByText('ui-child-s1').first().waitFor({ timeout: 30_000 });
    await page.getByText('ui-child-s2').first().waitFor({ timeout: 30_000 });
    const tablePng = join(OUT, 'runs-table.png');
    await page.screenshot({ path: tablePng });

    await page.goto(`${server.uri}/#/experiments/${expId}/runs/${children[0]}/model-metrics`);
    await page.getByText('ui-child-s1 (train/loss)').first().waitFor({ timeout: 90_000 });
    await page.getByText('Step').first().waitFor({ timeout: 30_000 });
    const chartPng = join(OUT, 'metric-chart.png');
    await page.screenshot({ path: chartPng });
    expect(statSync(tablePng).size).toBeGreaterThan(10_000);
    expect(statSync(chartPng).size).toBeGreaterThan(10_000);
    await page.close();
  });
});
