/**
 * Reading runs back for a report: params → knobs (MLflow's Python-style strings parsed back),
 * child runs → rows (with why a run is left out), predictions.csv → confusion matrix (quoted paths,
 * class names or indices) and one-line errors for a damaged file.
 */
import { describe, expect, it } from 'vitest';
import { historyRuns, inputFromRecords, knobsFromParams, rowFromRecord, type RunRecord } from '../../src/report/run-records.ts';
import { confusionFromCsv, parsePredictionsCsv } from '../../src/report/confusion-csv.ts';
import { UserError } from '../../src/util/errors.ts';
import { row } from './report-data.ts';

const record = (runName: string, params: Record<string, string>, metrics: Record<string, number>, status = 'FINISHED'): RunRecord => ({
  runId: runName, runName, status, params, metrics, history: async () => [], artifact: async () => undefined,
});

describe('knobsFromParams and rowFromRecord', () => {
  it("parses method.* and optim.* params back: numbers, Python booleans, JSON lists; other params are not knobs", () => {
    expect(knobsFromParams({
      'method.name': 'iwpl', 'method.label': 'x', 'method.testTopK': '2', 'optim.lr': '0.002', 'optim.betas': '[0.9,0.999]',
      'method.aggregate': 'mean', 'method.learnGlobal': 'True', 'data.shots': '4', 'optim.eps': '1e-08',
    })).toEqual({ testTopK: 2, lr: 0.002, betas: [0.9, 0.999], aggregate: 'mean', learnGlobal: true, eps: 1e-8 });
  });

  it('makes a row from a finished child, and says why a run has none', () => {
    const params = { 'method.name': 'coop', 'method.label': 'coop-16', 'data.dataset': 'oxford_pets', 'data.shots': '4', 'data.seed': '2', 'method.nCtx': '16' };
    expect(rowFromRecord(record('r1', params, { 'test/acc': 87.5 }))).toEqual({
      dataset: 'oxford_pets', method: 'coop', label: 'coop-16', shots: 4, seed: 2, accuracy: 87.5, runName: 'r1', knobs: { nCtx: 16 },
    });
    expect(rowFromRecord(record('r2', params, {}, 'FAILED'))).toBe('r2 (FAILED): no test/acc');
    expect(rowFromRecord(record('r3', { 'method.name': 'coop' }, { 'test/acc': 1 }))).toBe('r3: no data.dataset, data.shots, data.seed param');
  });

  it('collects rows, leaves failed runs out, and refuses a parent without results', async () => {
    const params = { 'method.name': 'coop', 'data.dataset': 'oxford_pets', 'data.shots': '4', 'data.seed': '1' };
    const got = await inputFromRecords('t', [record('ok', params, { 'test/acc': 80 }), record('bad', params, {}, 'FAILED')]);
    expect(got.input.rows.map((r) => r.runName)).toEqual(['ok']);
    expect(got.skipped).toEqual(['bad (FAILED): no test/acc']);
    await expect(inputFromRecords('t', [record('bad', params, {}, 'FAILED')])).rejects.toThrow(new UserError('t: none of its 1 child runs has a test/acc result (bad (FAILED): no test/acc)'));
  });

  it('picks for the training chart one run per dataset and label at the reference shots, lowest seed', () => {
    const rows = [row('a', 'coop', 4, 3, 1), row('a', 'coop', 4, 2, 1), row('a', 'coop', 2, 1, 1), row('b', 'coop', 4, 2, 1), row('a', 'zeroshot', 0, 0, 1)];
    expect(historyRuns(rows).map((r) => r.runName)).toEqual(['coop-a-4shot-s2', 'coop-b-4shot-s2']);
  });
});

describe('predictions.csv → confusion matrix', () => {
  it('counts (true, predicted) pairs, quoted paths included, with class names or indices', () => {
    const csv = 'impath,label,prediction\n"x,1.jpg",0,1\n"say ""hi"".jpg",1,1\nz.jpg,2,0\r\n';
    expect(parsePredictionsCsv(csv, 'p.csv')).toEqual({ labels: [0, 1, 2], predictions: [1, 1, 0] });
    const named = confusionFromCsv(csv, 'p.csv', ['a', 'b', 'c', 'd']);
    expect(named.classnames).toEqual(['a', 'b', 'c', 'd']);
    expect(Array.from(named.matrix)).toEqual([0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
    const unnamed = confusionFromCsv(csv, 'p.csv', ['a']); // too few names: indices
    expect(unnamed.classnames).toEqual(['class 0', 'class 1', 'class 2']);
    expect(Array.from(unnamed.matrix)).toEqual([0, 1, 0, 0, 1, 0, 1, 0, 0]);
  });

  it('refuses a file that is not a predictions.csv, naming file and line', () => {
    expect(() => parsePredictionsCsv('a,b\n', 'r/predictions.csv')).toThrow(new UserError('r/predictions.csv: not a predictions.csv (header "a,b")'));
    expect(() => parsePredictionsCsv('impath,label,prediction\nx.jpg,1,cat\n', 'r/predictions.csv')).toThrow(new UserError('r/predictions.csv:2: expected "impath,label,prediction" with class indices, got "x.jpg,1,cat"'));
  });
});
