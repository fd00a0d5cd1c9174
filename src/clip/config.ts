/**
 * CLIP architecture configs: plain, frozen data, one JSON file per model in `configs/`
 * (open_clip's model_configs, in camelCase). Head counts follow OpenAI's build_model:
 * ResNet attention pool width·32/64, ViT width/64, text width/64.
 */

/** ModifiedResNet image tower (RN50, RN101, RN50x4, RN50x16, RN50x64). */
export interface ResNetVisionConfig {
  readonly kind: 'resnet';
  /** Bottleneck blocks per stage, e.g. [3, 4, 6, 3] for RN50. */
  readonly layers: readonly [number, number, number, number];
  /** Stem width (64 for RN50); stage s has 4·width·2^s output channels. */
  readonly width: number;
  /** Attention-pool heads: width·32/64 in OpenAI's build_model. */
  readonly heads: number;
  /** Input side in pixels (224 for RN50). */
  readonly imageSize: number;
}

/** Vision Transformer image tower (ViT-B/32, B/16, L/14, L/14@336px). */
export interface VitVisionConfig {
  readonly kind: 'vit';
  /** Transformer blocks. */
  readonly layers: number;
  /** Token width. */
  readonly width: number;
  /** Attention heads: width/64. */
  readonly heads: number;
  /** Patch side in pixels. */
  readonly patchSize: number;
  /** Input side in pixels. */
  readonly imageSize: number;
}

/** The causal text transformer. */
export interface TextConfig {
  /** Tokens per text, SOT and EOT included (77). */
  readonly contextLength: number;
  /** BPE vocabulary size (49408). */
  readonly vocabSize: number;
  /** Token width (512 for RN50). */
  readonly width: number;
  /** Attention heads: width/64. */
  readonly heads: number;
  /** Transformer blocks (12). */
  readonly layers: number;
}

/** A whole CLIP model's architecture. */
export interface ClipConfig {
  /** Model name, e.g. "RN50" (the JSON file's stem), or "custom" when read from weights. */
  readonly name: string;
  /** Joint embedding width (1024 for RN50). */
  readonly embedDim: number;
  readonly vision: ResNetVisionConfig | VitVisionConfig;
  readonly text: TextConfig;
}
