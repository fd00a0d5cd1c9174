import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { createProgress } from '../../src/util/progress.ts';

function sink(isTTY: boolean): Writable & { text: string; isTTY: boolean; columns: number } {
  const s = new Writable({ write(chunk, _enc, cb) { s.text += String(chunk); cb(); } }) as Writable & { text: string; isTTY: boolean; columns: number };
  s.text = '';
  s.isTTY = isTTY;
  s.columns = 100;
  return s;
}

describe('createProgress', () => {
  it('writes plain periodic lines with percent, rate and ETA when not a TTY', () => {
    const out = sink(false);
    const p = createProgress({ label: 'features', total: 10, unit: 'img', stream: out, intervalMs: 0 });
    p.tick(5);
    p.done();
    const lines = out.text.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines.at(-2)).toMatch(/^features:  50\.0% 5\/10 img \| [\d.]+ img\/s \| ETA /);
    expect(out.text).not.toContain('\r');
  });

  it('redraws one bar in place on a TTY and ends with a newline', () => {
    const out = sink(true);
    const p = createProgress({ label: 'download', total: 4, stream: out });
    p.set(4);
    p.done();
    expect(out.text).toContain('\r\x1b[2K');
    expect(out.text).toMatch(/download \[#+\] 100\.0% 4\/4 it/);
    expect(out.text.endsWith('\n')).toBe(true);
  });

  it('shows a count without ETA when the total is unknown', () => {
    const out = sink(false);
    const p = createProgress({ label: 'scan', stream: out, intervalMs: 0 });
    p.tick(3);
    p.done();
    expect(out.text).toMatch(/scan: 3 it \| /);
    expect(out.text).not.toMatch(/ETA/);
  });

  it('the rate counts only what this run did: set() is absolute, and resumed or cached units are left out', () => {
    const wait = (ms: number): void => { const t = Date.now() + ms; while (Date.now() < t) { /* a measurable elapsed time */ } };
    const out = sink(false);
    const p = createProgress({ label: 'features', total: 1000, unit: 'img', stream: out, intervalMs: 0 });
    // A first absolute count is work done now (it used to be taken for a resumed count: rate 0).
    wait(5);
    p.set(256);
    expect(out.text.trim().split('\n').at(-1)).not.toMatch(/\| 0\.00 img\/s/);
    const q = createProgress({ label: 'resume', total: 1000, unit: 'img', stream: out, intervalMs: 0 });
    q.set(500, 500); // found done: nothing done by this run yet
    expect(out.text.trim().split('\n').at(-1)).toMatch(/^resume:  50\.0% 500\/1000 img \| 0\.00 img\/s \| ETA \?$/);
    wait(5);
    q.set(600); // 100 done by this run; the 500 stay excluded
    expect(out.text.trim().split('\n').at(-1)).not.toMatch(/\| 0\.00 img\/s/);
  });
});
