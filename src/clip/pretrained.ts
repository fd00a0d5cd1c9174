/**
 * OpenAI's released CLIP checkpoints (openai/CLIP clip/clip.py `_MODELS`): each URL has the form
 * `<base>/<sha256>/<file>`, the path segment before the file being the SHA-256 of the whole file.
 */
import { canonicalModelName } from './config-registry.ts';
import { UserError } from '../util/errors.ts';

/** One downloadable checkpoint. */
export interface PretrainedEntry {
  /** The official URL. */
  readonly url: string;
  /** SHA-256 of the file (hex), taken from the URL. */
  readonly sha256: string;
  /** File name, e.g. "RN50.pt". */
  readonly file: string;
}

/** Where OpenAI serves the checkpoints. */
export const OPENAI_CLIP_BASE_URL = 'https://openaipublic.azureedge.net/clip/models';

function entry(sha256: string, file: string): PretrainedEntry {
  return Object.freeze({ url: `${OPENAI_CLIP_BASE_URL}/${sha256}/${file}`, sha256, file });
}

/** The official checkpoints by our model name (the keys of CLIP_CONFIGS). */
export const PRETRAINED: Readonly<Record<string, PretrainedEntry>> = Object.freeze({
  RN50: entry('afeb0e10f9e5a86da6080e35cf09123aca3b358a0c3e3b6c78a7b63bc04b6762', 'RN50.pt'),
  RN101: entry('8fa8567bab74a42d41c5915025a8e4538c3bdbe8804a470a72f30b0d94fab599', 'RN101.pt'),
  RN50x4: entry('7e526bd135e493cef0776de27d5f42653e6b4c8bf9e0f653bb11773263205fdd', 'RN50x4.pt'),
  RN50x16: entry('52378b407f34354e150460fe41077663dd5b39c54cd0bfd2b27167a4a06ec9aa', 'RN50x16.pt'),
  RN50x64: entry('be1cfb55d75a9666199fb2206c106743da0f6468c9d327f3e0d0a543a9919d9c', 'RN50x64.pt'),
  'ViT-B-32': entry('40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af', 'ViT-B-32.pt'),
  'ViT-B-16': entry('5806e77cd80f8b59890b7e101eabd078d9fb84e6937f9e85e4ecb61988df416f', 'ViT-B-16.pt'),
  'ViT-L-14': entry('b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836', 'ViT-L-14.pt'),
  'ViT-L-14-336px': entry('3035c92b350959924f9f00213499208652fc7ea050643e8b385c2dac08641f02', 'ViT-L-14-336px.pt'),
});

/**
 * CLIP's BPE vocabulary (MIT, OpenAI's repository), downloaded beside the weights so the tokenizer
 * finds it there; checked by its SHA-256 like the checkpoints.
 */
export const VOCAB: PretrainedEntry = Object.freeze({
  url: 'https://github.com/openai/CLIP/raw/main/clip/bpe_simple_vocab_16e6.txt.gz',
  sha256: '924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a',
  file: 'bpe_simple_vocab_16e6.txt.gz',
});

/**
 * The checkpoint of a model, by our name or OpenAI's ("ViT-B/32").
 * @throws UserError listing the known names.
 */
export function getPretrained(name: string): PretrainedEntry {
  const n = canonicalModelName(name);
  const found = n === undefined ? undefined : PRETRAINED[n];
  if (found === undefined) throw new UserError(`no official checkpoint named '${name}' (known: ${Object.keys(PRETRAINED).join(', ')})`);
  return found;
}
