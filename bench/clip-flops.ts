/**
 * Forward FLOPs of CLIP's towers counted from the config (2 per multiply-add; matMuls and
 * convolutions only — norms, activations, softmax and pooling are ignored, < 1 % here), so a bench
 * can turn images/s into achieved GFLOP/s. Attention is counted dense (full L×L scores), as computed.
 */
import type { ClipConfig, ResNetVisionConfig, VitVisionConfig } from '../src/clip/config.ts';

const conv = (hw: number, cin: number, cout: number, k: number): number => 2 * hw * hw * cin * cout * k * k;

/** ModifiedResNet: 3-conv stem, bottlenecks (stride as AvgPool after conv2), 1-query attention pool. */
function resnetFlops(v: ResNetVisionConfig, embedDim: number): number {
  const w = v.width;
  let s = v.imageSize / 2; // stem conv1 has stride 2
  let f = conv(s, 3, w / 2, 3) + conv(s, w / 2, w / 2, 3) + conv(s, w / 2, w, 3);
  s /= 2; // stem AvgPool(2)
  let inplanes = w;
  v.layers.forEach((count, stage) => {
    const planes = w * 2 ** stage;
    for (let b = 0; b < count; b++) {
      const stride = b === 0 && stage > 0 ? 2 : 1;
      f += conv(s, inplanes, planes, 1) + conv(s, planes, planes, 3);
      const out = s / stride;
      f += conv(out, planes, planes * 4, 1);
      if (stride > 1 || inplanes !== planes * 4) f += conv(out, inplanes, planes * 4, 1);
      inplanes = planes * 4;
      s = out;
    }
  });
  const c = inplanes;
  const t = s * s + 1;
  return f + 2 * (2 * t * c * c) /* k, v */ + 2 * c * c /* one query */ + 2 * 2 * t * c /* scores, sum */ + 2 * c * embedDim;
}

/** One pre-LN transformer block over `l` tokens of width `d` (qkv, out, 4× MLP; dense attention). */
function blockFlops(l: number, d: number): number {
  return l * 24 * d * d + 4 * l * l * d;
}

function vitFlops(v: VitVisionConfig, embedDim: number): number {
  const g = v.imageSize / v.patchSize;
  const t = g * g + 1;
  return 2 * g * g * 3 * v.patchSize ** 2 * v.width + v.layers * blockFlops(t, v.width) + 2 * v.width * embedDim;
}

/** FLOPs of one image through the image tower. */
export function imageFlops(config: ClipConfig): number {
  return config.vision.kind === 'resnet' ? resnetFlops(config.vision, config.embedDim) : vitFlops(config.vision, config.embedDim);
}

/** FLOPs of one text of `tokens` tokens through the text transformer (projection of the EOT row only). */
export function textFlops(config: ClipConfig, tokens: number): number {
  const t = config.text;
  return t.layers * blockFlops(tokens, t.width) + 2 * t.width * config.embedDim;
}
