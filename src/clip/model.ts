/**
 * A whole CLIP model (OpenAI's clip.model.CLIP) on tfjs: the image tower (ModifiedResNet or ViT),
 * the text tower and the logit scale, built from PyTorch-named weights.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ClipConfig } from './config.ts';
import { matMulTransposeB, requireTensor, type StateDict } from './layers.ts';
import { ModifiedResNet } from './modified-resnet.ts';
import { VisionTransformer } from './vision-transformer.ts';
import { TextTransformer, type EncodeTextOptions } from './text-transformer.ts';
import { loadStateDict } from './weights/load.ts';
import { validateStateDict } from './weights/state-dict.ts';
import { inferClipConfig } from './config-infer.ts';
import { initBackend } from '../backend/select.ts';

/** Divides every row by its L2 norm. */
function l2Normalize(x: tf.Tensor2D): tf.Tensor2D {
  return tf.div(x, tf.norm(x, 'euclidean', 1, true));
}

/** CLIP with its weights on the active tfjs backend; call {@link ClipModel.dispose} when done. */
export class ClipModel {
  private constructor(
    readonly config: ClipConfig,
    /** The image tower. */
    readonly visual: ModifiedResNet | VisionTransformer,
    /** The text tower (prompt-learning entry points live here). */
    readonly text: TextTransformer,
    /** exp(logit_scale), the factor on cosine similarities (OpenAI's forward). */
    readonly logitScale: number,
  ) {}

  /**
   * Builds the model from a validated state dict (PyTorch names and layouts, fp32).
   * @example const model = ClipModel.fromStateDict(sd, inferClipConfig(sd, path));
   */
  static fromStateDict(sd: StateDict, config: ClipConfig): ClipModel {
    const visual = config.vision.kind === 'resnet'
      ? ModifiedResNet.fromStateDict(sd, config.vision)
      : VisionTransformer.fromStateDict(sd, config.vision);
    const text = TextTransformer.fromStateDict(sd, config.text);
    const scale = requireTensor(sd, 'logit_scale').data[0]!;
    return new ClipModel(config, visual, text, Math.exp(scale));
  }

  /** OpenAI's encode_image: pixels [n, S, S, 3] (NHWC, normalised) → [n, embedDim], un-normalised. */
  encodeImage(pixels: tf.Tensor4D): tf.Tensor2D {
    const s = this.config.vision.imageSize;
    const [, h, w, c] = pixels.shape;
    if (h !== s || w !== s || c !== 3) {
      throw new RangeError(`encodeImage: pixels must be [n, ${s}, ${s}, 3] (NHWC), got [${pixels.shape.join(', ')}]`);
    }
    return this.visual.forward(pixels);
  }

  /** OpenAI's encode_text: int32 ids [n, ≤ contextLength], zero-padded → [n, embedDim], un-normalised. */
  encodeText(ids: tf.Tensor2D): tf.Tensor2D {
    if (ids.shape[1] > this.config.text.contextLength) {
      throw new RangeError(`encodeText: ${ids.shape[1]} tokens per row, the model has ${this.config.text.contextLength}`);
    }
    return this.text.encodeText(ids);
  }

  /** Token embeddings (before positional): see {@link TextTransformer.tokenEmbedding}. */
  tokenEmbedding(ids: tf.Tensor): tf.Tensor {
    return this.text.tokenEmbedding(ids);
  }

  /** Prompt entry: see {@link TextTransformer.encodeTextEmbeddings}. */
  encodeTextEmbeddings(embeddings: tf.Tensor3D, eot: readonly number[], options?: EncodeTextOptions): tf.Tensor2D {
    return this.text.encodeTextEmbeddings(embeddings, eot, options);
  }

  /**
   * CLIP's logits_per_image: exp(logit_scale) · normalise(image) @ normalise(text)ᵀ → [nImages, nTexts].
   * Differentiable w.r.t. both inputs with plain 2-D matMuls.
   */
  logitsPerImage(imageFeatures: tf.Tensor2D, textFeatures: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => tf.mul(matMulTransposeB(l2Normalize(imageFeatures), l2Normalize(textFeatures)), this.logitScale));
  }

  /** Frees every weight tensor. */
  dispose(): void {
    this.visual.dispose();
    this.text.dispose();
  }
}

/**
 * Loads CLIP from an OpenAI TorchScript `.pt`, a `torch.save` state dict or a `.safetensors`
 * file; the architecture is read from the weights (as OpenAI's build_model).
 * @example const model = await loadClip('RN50.pt'); const f = model.encodeImage(pixels);
 */
export async function loadClip(path: string): Promise<ClipModel> {
  const { sd, config } = await readClipWeights(path);
  await initBackend();
  return ClipModel.fromStateDict(sd, config);
}

/**
 * Reads and validates CLIP weights without touching tfjs: a bad file is reported before the
 * backend loads (TensorFlow prints start-up lines on stderr when it loads).
 */
export async function readClipWeights(path: string): Promise<{ readonly sd: StateDict; readonly config: ClipConfig }> {
  const raw = await loadStateDict(path);
  const config = inferClipConfig(raw, path);
  return { sd: validateStateDict(raw, config, path), config };
}
