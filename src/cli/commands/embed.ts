/** `iwpl embed`: flags → {@link embed} → JSON file. */
import type { Command } from 'commander';
import { writeFileAtomic } from '../../util/fs-atomic.ts';
import { embed } from '../../clip/embed.ts';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Adds `iwpl embed` to the program. */
export function registerEmbed(program: Command): void {
  program.command('embed')
    .description('CLIP features of images and texts (un-normalised, as OpenAI\'s encode_image/encode_text) and logits_per_image, as JSON')
    .requiredOption('--model <file>', 'weights: OpenAI .pt (TorchScript), torch.save state dict or .safetensors')
    .option('--vocab <file>', 'BPE vocabulary (default: $IWPL_VOCAB, else bpe_simple_vocab_16e6.txt.gz beside the weights)')
    .option('--image <path>', 'an image to embed (repeatable)', collect, [] as string[])
    .option('--text <str>', 'a text to embed (repeatable)', collect, [] as string[])
    .requiredOption('--output <file>', 'where to write the JSON')
    .action(async (opts: { model: string; vocab?: string; image: string[]; text: string[]; output: string }) => {
      const result = await embed({
        model: opts.model, images: opts.image, texts: opts.text,
        ...(opts.vocab !== undefined ? { vocab: opts.vocab } : {}),
      });
      await writeFileAtomic(opts.output, `${JSON.stringify(result)}\n`);
    });
}
