/**
 * `iwpl tracking status|sync` without a server: which store folder is read, a missing or wrong one
 * named as the user gave it. (Sync against a real server, with status agreeing on the counts, is in
 * test/tracking/auth.test.ts; the one-line failures are in errors.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OfflineTracker } from '../../src/tracking/offline.ts';
import { iwplAsync } from './spawn-iwpl.ts';

let tmp: string;
beforeAll(() => { tmp = mkdtempSync(join(tmpdir(), 'iwpl-cli-tracking-')); });
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('iwpl tracking status', () => {
  it('lists the runs of --store with their record counts, none synced yet', async () => {
    const store = join(tmp, 'store');
    const tracker = new OfflineTracker({ dir: store, buffer: { intervalMs: 0 } });
    const run = await tracker.startRun({ experimentName: 'iwpl/status', runName: 'one' });
    await run.logParams({ lr: 0.002 });
    await run.end('FINISHED');
    const r = await iwplAsync(['tracking', 'status', '--store', store]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      store, runs: [{ id: run.runId, experiment: 'iwpl/status', name: 'one', status: 'FINISHED', records: 3, synced: {} }],
    });
  });

  it('IWPL_OFFLINE_DIR that does not exist is an error naming it, as is a missing --store for sync', async () => {
    const missing = join(tmp, 'typo');
    const r = await iwplAsync(['tracking', 'status'], { env: { IWPL_OFFLINE_DIR: missing } });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`iwpl: IWPL_OFFLINE_DIR ${missing}: no such offline store folder\n`);
    const sync = await iwplAsync(['tracking', 'sync', '--uri', 'http://127.0.0.1:9', '--store', missing]);
    expect(sync.code).toBe(1);
    expect(sync.stderr).toBe(`iwpl: --store ${missing}: no such offline store folder\n`);
  });
});
