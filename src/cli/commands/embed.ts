/** `iwpl embed`: flags → {@link embed} → JSON (a file, a pipe or stdout; see util/output.ts). */
import type { Command } from 'commander';
import { UserError } from '../../util/errors.ts';
import { checkOutput, writeOutput } from '../../util/output.ts';
import { embed } from '../../clip/embed.ts';
import { collect } from '../flags.ts';

/** The tokenizer's "text too long" message ends like this; the CLI names its flag. */
const TOO_LONG = /more than the context length \d+; shorten it or allow truncation$/;

/** Adds `iwpl embed` to the program. */
export function registerEmbed(program: Command): void {
  program.command('embed')
    .description('CLIP features of images and texts (un-normalised, as OpenAI\'s encode_image/encode_text) and logits_per_image, as JSON')
    .requiredOption('--model <file>', 'weights: OpenAI .pt (TorchScript), torch.save state dict or .safetensors')
    .option('--vocab <file>', 'BPE vocabulary (default: $IWPL_VOCAB, else bpe_simple_vocab_16e6.txt.gz beside the weights)')
    .option('--image <path>', 'an image to embed (repeatable)', collect, [] as string[])
    .option('--text <str>', 'a text to embed (repeatable)', collect, [] as string[])
    .option('--truncate', 'cut texts longer than the context (77 tokens) to it, EOT last, as clip.tokenize(truncate=True)')
    .requiredOption('--output <file>', 'where to write the JSON: a file (replaced atomically), "-" for stdout, a named pipe or a device')
    .action(async (opts: { model: string; vocab?: string; image: string[]; text: string[]; truncate?: boolean; output: string }) => {
      const out = await checkOutput(opts.output, '--output'); // before the model loads
      let result;
      try {
        result = await embed({
          model: opts.model, images: opts.image, texts: opts.text, truncate: opts.truncate === true,
          ...(opts.vocab !== undefined ? { vocab: opts.vocab } : {}),
        });
      } catch (err) {
        if (err instanceof UserError && TOO_LONG.test(err.message)) throw new UserError(`${err.message} (--truncate)`);
        throw err;
      }
      await writeOutput(out, `${JSON.stringify(result)}\n`);
      process.stderr.write(`wrote ${out.description}: ${opts.image.length} image(s), ${opts.text.length} text(s)\n`);
    });
}
