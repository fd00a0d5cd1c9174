/**
 * CLIP features of images and texts, exactly what OpenAI's encode_image / encode_text return
 * (un-normalised), plus logits_per_image as CLIP's forward: the library side of `iwpl embed`
 * (architecture.md's contract).
 */
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../util/errors.ts';
import { createProgress } from '../util/progress.ts';
import { initBackend } from '../backend/select.ts';
import { ClipModel, readClipWeights } from './model.ts';
import { ClipTokenizer, resolveVocabPath } from './tokenizer.ts';
import { preprocessFileForClip } from './preprocess.ts';

/** The JSON that `iwpl embed` writes. */
export interface EmbedResult {
  /** Token ids per text, SOT and EOT included, no padding. */
  readonly tokens: number[][];
  /** [nImages, embedDim], un-normalised. */
  readonly image_features: number[][];
  /** [nTexts, embedDim], un-normalised. */
  readonly text_features: number[][];
  /** [nImages, nTexts]: exp(logit_scale) · cosine similarity; empty without images or texts. */
  readonly logits_per_image: number[][];
}

/** What to embed. */
export interface EmbedInputs {
  /** Image files (any format decodeImage reads). */
  readonly images: readonly string[];
  /** Texts (each at most the context length in tokens, SOT/EOT included, unless `truncate`). */
  readonly texts: readonly string[];
  /** Cut longer texts to the context length with EOT last, as clip.tokenize(truncate=True). @default false */
  readonly truncate?: boolean;
}

/** Images per forward pass (bounds memory for long lists). */
const IMAGE_BATCH = 16;

/**
 * Embeds images and texts with an already loaded model and tokenizer (the tokenizer may be
 * undefined when there are no texts).
 */
export async function embedWithModel(model: ClipModel, tokenizer: ClipTokenizer | undefined,
  inputs: EmbedInputs): Promise<EmbedResult> {
  const ctx = model.config.text.contextLength;
  const size = model.config.vision.imageSize;
  if (inputs.texts.length > 0 && !tokenizer) throw new Error('embedWithModel: texts given without a tokenizer');
  const tokens = inputs.texts.map((t) => tokenizer!.tokenize(t, { contextLength: ctx, truncate: inputs.truncate === true }));

  const imageRows: tf.Tensor2D[] = [];
  const progress = inputs.images.length > IMAGE_BATCH
    ? createProgress({ label: 'embed images', total: inputs.images.length, unit: 'img' }) : undefined;
  try {
    for (let start = 0; start < inputs.images.length; start += IMAGE_BATCH) {
      const paths = inputs.images.slice(start, start + IMAGE_BATCH);
      const pixels = await Promise.all(paths.map((p) => preprocessFileForClip(p, size)));
      const batch = new Float32Array(paths.length * size * size * 3);
      pixels.forEach((px, i) => batch.set(px, i * size * size * 3));
      imageRows.push(tf.tidy(() => model.encodeImage(tf.tensor4d(batch, [paths.length, size, size, 3]))));
      progress?.tick(paths.length);
    }
    progress?.done();
    return tf.tidy(() => {
      const width = model.config.embedDim;
      const image = imageRows.length > 0 ? tf.concat(imageRows, 0) as tf.Tensor2D : tf.zeros([0, width]) as tf.Tensor2D;
      let text = tf.zeros([0, width]) as tf.Tensor2D;
      if (tokens.length > 0) {
        const ids = new Int32Array(tokens.length * ctx);
        tokens.forEach((row, i) => ids.set(row, i * ctx));
        text = model.encodeText(tf.tensor2d(ids, [tokens.length, ctx], 'int32'));
      }
      const logits = image.shape[0] > 0 && text.shape[0] > 0 ? model.logitsPerImage(image, text).arraySync() : [];
      return { tokens, image_features: image.arraySync(), text_features: text.arraySync(), logits_per_image: logits };
    });
  } finally {
    tf.dispose(imageRows);
  }
}

/** What {@link embed} needs: the weights, optionally the vocabulary, and the inputs. */
export interface EmbedOptions extends EmbedInputs {
  /** OpenAI `.pt` (TorchScript), torch.save state dict or `.safetensors`. */
  readonly model: string;
  /** The BPE vocabulary; found with resolveVocabPath when absent. */
  readonly vocab?: string;
}

/**
 * Loads the model (and the tokenizer when there are texts), embeds, frees the model.
 * @example const r = await embed({ model: 'RN50.pt', images: ['cat.jpg'], texts: ['a cat'] });
 */
export async function embed(options: EmbedOptions): Promise<EmbedResult> {
  if (options.images.length === 0 && options.texts.length === 0) {
    throw new UserError('embed: nothing to embed; give at least one --image or --text');
  }
  // Every input is checked before the backend loads, so a bad one is reported alone (TensorFlow
  // writes start-up lines on stderr when it loads).
  const { sd, config } = await readClipWeights(options.model);
  const tokenizer = options.texts.length > 0
    ? await ClipTokenizer.load(resolveVocabPath({ ...(options.vocab !== undefined ? { vocab: options.vocab } : {}), modelPath: options.model }))
    : undefined;
  for (const text of options.texts) tokenizer!.tokenize(text, { contextLength: config.text.contextLength, truncate: options.truncate === true });
  for (const image of options.images) await preprocessFileForClip(image, config.vision.imageSize);
  await initBackend();
  const model = ClipModel.fromStateDict(sd, config);
  try {
    return await embedWithModel(model, tokenizer, options);
  } finally {
    model.dispose();
  }
}
