/**
 * Zero-shot prompt templates as CoOp uses them (CoOp:trainers/zsclip.py): each dataset's own
 * template (DatasetSpec.template, CoOp's CUSTOM_TEMPLATES) and the prompt-ensembling set of
 * ZeroshotCLIP2.
 */
import { UserError } from '../util/errors.ts';
import { promptClassname } from './prompt-tokens.ts';

/**
 * CoOp's IMAGENET_TEMPLATES_SELECT (CoOp:trainers/imagenet_templates.py, from OpenAI's
 * Prompt_Engineering_for_ImageNet notebook): the 7 templates ZeroshotCLIP2 averages.
 */
export const IMAGENET_TEMPLATES_SELECT: readonly string[] = Object.freeze([
  'itap of a {}.',
  'a bad photo of the {}.',
  'a origami {}.',
  'a photo of the large {}.',
  'a {} in a video game.',
  'art of the {}.',
  'a photo of the small {}.',
]);

/** How zero-shot text features are made: one template, or CoOp's ZeroshotCLIP2 ensemble. */
export type TemplateMode = 'dataset' | 'ensemble';

/**
 * The templates of a mode. `dataset`: the dataset's own; `ensemble`: the 7 select templates plus
 * the dataset's own, except for ImageNet (the 7 only) — CoOp's ZeroshotCLIP2 rule, which tests the
 * name "ImageNet" exactly (its variants get their template appended). Unlike CoOp's class-level
 * `+=`, nothing is shared between calls.
 */
export function templatesFor(mode: TemplateMode, dataset: string, datasetTemplate: string): string[] {
  if (mode === 'dataset') return [datasetTemplate];
  return dataset === 'ImageNet' ? [...IMAGENET_TEMPLATES_SELECT] : [...IMAGENET_TEMPLATES_SELECT, datasetTemplate];
}

/**
 * Python's `template.format(name)` for a template with one `{}`, the name cleaned as CoOp does
 * (`_` → space).
 * @throws UserError when the template does not hold exactly one `{}`.
 * @example fillTemplate('a photo of a {}, a type of pet.', 'basset_hound') // 'a photo of a basset hound, a type of pet.'
 */
export function fillTemplate(template: string, rawClassname: string): string {
  const parts = template.split('{}');
  if (parts.length !== 2) {
    throw new UserError(`prompt template ${JSON.stringify(template)} must contain exactly one "{}" (found ${parts.length - 1})`);
  }
  return parts[0] + promptClassname(rawClassname) + parts[1];
}
