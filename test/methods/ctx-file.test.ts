/**
 * Reading saved contexts: CoOp checkpoints as Dassl's save_checkpoint writes them (torch.save zip
 * of {'state_dict', 'epoch', 'optimizer', 'scheduler', …}, fp16 ctx, generic and class-specific),
 * NumPy .npy (f4, f2), .safetensors; bad inputs are UserErrors naming the file.
 * Fixtures: test/fixtures/make/make_coop_fixtures.py.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { parseNpy, readCtxFile } from '../../src/methods/ctx-file.ts';
import { parseSafetensors, serializeSafetensors } from '../../src/io/safetensors.ts';
import { UserError } from '../../src/util/errors.ts';
import { FIXTURES as CLIP_FIXTURES } from '../clip/clip-fixtures.ts';
import { COOP_FIXTURES, fixtureTensor } from './coop-fixtures.ts';

const expected = parseSafetensors(readFileSync(join(COOP_FIXTURES, 'checkpoints.safetensors')), 'checkpoints.safetensors').tensors;
let tmp: string | undefined;
afterEach(async () => { if (tmp) await rm(tmp, { recursive: true, force: true }); tmp = undefined; });

describe('readCtxFile', () => {
  it("reads state_dict['ctx'] of a Dassl checkpoint (fp16 → fp32): generic [4, 64]", async () => {
    const ctx = await readCtxFile(join(COOP_FIXTURES, 'model.pth.tar-50'));
    const want = fixtureTensor(expected, 'generic');
    expect(ctx.shape).toEqual([4, 64]);
    expect(ctx.data).toEqual(want.data);
  });

  it('reads a class-specific checkpoint [5, 4, 64]', async () => {
    const ctx = await readCtxFile(join(COOP_FIXTURES, 'model-csc.pth.tar-3'));
    expect(ctx.shape).toEqual([5, 4, 64]);
    expect(ctx.data).toEqual(fixtureTensor(expected, 'csc').data);
  });

  it('reads NumPy float32 and float16 arrays', async () => {
    const want = fixtureTensor(expected, 'generic');
    for (const name of ['ctx-f4.npy', 'ctx-f2.npy']) {
      const ctx = await readCtxFile(join(COOP_FIXTURES, name));
      expect(ctx.shape).toEqual([4, 64]);
      expect(ctx.data).toEqual(want.data);
    }
  });

  it("reads .safetensors: the tensor 'ctx', or the only tensor", async () => {
    tmp = await mkdtemp(join(tmpdir(), 'iwpl-ctxfile-'));
    const t = { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) };
    await writeFile(join(tmp, 'a.safetensors'), serializeSafetensors(new Map([['ctx', t], ['other', t]])));
    await writeFile(join(tmp, 'b.safetensors'), serializeSafetensors(new Map([['prompt', t]])));
    await writeFile(join(tmp, 'c.safetensors'), serializeSafetensors(new Map([['p', t], ['q', t]])));
    expect((await readCtxFile(join(tmp, 'a.safetensors'))).data).toEqual(t.data);
    expect((await readCtxFile(join(tmp, 'b.safetensors'))).shape).toEqual([2, 3]);
    await expect(readCtxFile(join(tmp, 'c.safetensors'))).rejects.toThrow(/c\.safetensors: no context tensor \(looked for 'ctx'; found p, q\)/);
  });

  it('bad inputs are UserErrors naming the file', async () => {
    tmp = await mkdtemp(join(tmpdir(), 'iwpl-ctxfile-'));
    const missing = join(tmp, 'nope.pth.tar-50');
    await expect(readCtxFile(missing)).rejects.toThrow(new UserError(`ctxInit.file ${missing}: cannot read it (ENOENT)`));
    await expect(readCtxFile(join(COOP_FIXTURES, 'legacy.pth'))).rejects.toThrow(/legacy.pth: a legacy \(pre-1.6, non-zip\) torch.save file/);
    await expect(readCtxFile(join(CLIP_FIXTURES, 'tiny-rn.state_dict.pt'))).rejects.toThrow(/tiny-rn.state_dict.pt: no context tensor \(looked for 'state_dict.ctx', 'ctx'; found /);
    await writeFile(join(tmp, 'text.txt'), 'hello world, not a tensor');
    await expect(readCtxFile(join(tmp, 'text.txt'))).rejects.toThrow(UserError);
    const rank1 = serializeSafetensors(new Map([['ctx', { shape: [3], data: new Float32Array(3) }]]));
    await writeFile(join(tmp, 'r1.safetensors'), rank1);
    await expect(readCtxFile(join(tmp, 'r1.safetensors'))).rejects.toThrow(/r1.safetensors: the context has shape \[3\]; expected \[nCtx, width\] or \[classes, nCtx, width\]/);
  });

  it('parseNpy refuses other dtypes, Fortran order and truncation', () => {
    const npy = (header: string, body: Uint8Array): Uint8Array => {
      const h = new TextEncoder().encode(header.padEnd(118) + '\n');
      const out = new Uint8Array(10 + h.length + body.length);
      out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, h.length & 0xff, h.length >> 8]);
      out.set(h, 10);
      out.set(body, 10 + h.length);
      return out;
    };
    const ok = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", new Uint8Array(new Float32Array([1.5, -2]).buffer));
    expect(parseNpy(ok, 'ok.npy')).toEqual({ shape: [2], data: Float32Array.from([1.5, -2]) });
    expect(() => parseNpy(npy("{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(8)), 'i.npy')).toThrow(/i.npy: .npy dtype <i8 is not supported/);
    expect(() => parseNpy(npy("{'descr': '<f4', 'fortran_order': True, 'shape': (1, 1), }", new Uint8Array(4)), 'f.npy')).toThrow(/f.npy: Fortran-ordered/);
    expect(() => parseNpy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", new Uint8Array(4)), 't.npy')).toThrow(/t.npy: truncated .npy data/);
  });
});
