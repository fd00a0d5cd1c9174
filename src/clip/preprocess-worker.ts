/**
 * The worker side of preprocess-pool.ts: decodes an image file and applies CLIP's resize + centre
 * crop (clipResizeCrop) in a worker thread, answering with the RGB bytes (transferred, not copied).
 * Loaded by the pool's boot script; does nothing on the main thread.
 */
import { isMainThread, parentPort } from 'node:worker_threads';
import { decodeImage } from '../image/decode.ts';
import { UserError } from '../util/errors.ts';
import { clipResizeCrop, type PreprocessOptions } from './preprocess.ts';

/** One job: `clipResizeCrop(decodeImage(path), size, options)`. */
export interface PreprocessJob {
  readonly id: number;
  readonly path: string;
  readonly size: number;
  readonly options: PreprocessOptions;
}

/** The answer to a job: the pixels, or the error's message (and whether it was a UserError). */
export type PreprocessReply =
  | { readonly id: number; readonly width: number; readonly height: number; readonly data: Uint8Array }
  | { readonly id: number; readonly error: string; readonly userError: boolean };

if (!isMainThread && parentPort) {
  const port = parentPort;
  port.on('message', (job: PreprocessJob) => {
    void (async () => {
      try {
        const img = clipResizeCrop(await decodeImage(job.path), job.size, job.options);
        const reply: PreprocessReply = { id: job.id, width: img.width, height: img.height, data: img.data };
        port.postMessage(reply, [img.data.buffer as ArrayBuffer]);
      } catch (err) {
        const reply: PreprocessReply = { id: job.id, error: err instanceof Error ? err.message : String(err), userError: err instanceof UserError };
        port.postMessage(reply);
      }
    })();
  });
  port.postMessage({ ready: true });
}
