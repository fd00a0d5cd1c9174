/**
 * Every experiment file shipped in experiments/ validates against the schema and every method's own
 * knob schema (a typo in a shipped file would otherwise surface only when a user runs it).
 */
import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadExperiment } from '../../src/experiment/load.ts';

const dir = join(import.meta.dirname, '..', '..', 'experiments');
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

describe('shipped experiment files', () => {
  it('include the table, the quick job and the ablations', () => {
    expect(files).toEqual(expect.arrayContaining(['ablation-context.json', 'ablation-prompts.json', 'quick-pets.json', 'smoke.json', 'table-4shot.json']));
  });

  it.each(files)('%s validates', async (file) => {
    const exp = await loadExperiment(join(dir, file));
    expect(exp.config.methods.length).toBeGreaterThan(0);
  });

  it('the table is the paper\'s: four datasets × the registered methods × seeds 1–3 at 4 shots', async () => {
    const { config } = await loadExperiment(join(dir, 'table-4shot.json'));
    expect(config.datasets).toEqual(['oxford_flowers', 'caltech101', 'oxford_pets', 'fgvc_aircraft']);
    expect(config.methods.map((m) => m.name)).toEqual(['zeroshot', 'linear-probe', 'coop', 'lfa', 'iwpl']);
    expect(config.shots).toEqual([4]);
    expect(config.seeds).toEqual([1, 2, 3]);
  });

  it('the prompt ablation covers trainPromptsPerClass × testTopK ∈ {1..4}² over shots 1–16', async () => {
    const { config } = await loadExperiment(join(dir, 'ablation-prompts.json'));
    const pairs = config.methods.map((m) => `${String(m.knobs.trainPromptsPerClass)}/${String(m.knobs.testTopK)}`);
    expect(new Set(pairs).size).toBe(16);
    expect(config.shots).toEqual([1, 2, 4, 8, 16]);
  });
});
