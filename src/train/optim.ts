/**
 * SGD and AdamW on tfjs variables, step for step as torch.optim.SGD and torch.optim.AdamW
 * (torch/optim/sgd.py `_single_tensor_sgd`, torch/optim/adam.py `_single_tensor_adam` with
 * decoupled weight decay; the single-tensor path is what torch runs for CPU tensors). Tensor
 * arithmetic is fp32 as in torch; scalar coefficients (1 − lr·wd, bias corrections) are computed in
 * float64 as Python does and rounded to fp32 when they meet a tensor.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Float32Tensor } from '../io/safetensors.ts';
import { UserError } from '../util/errors.ts';
import type { AdamWConfig, OptimizerConfig, SgdConfig } from './types.ts';

/** An optimiser bound to a fixed set of variables. */
export interface Optimizer {
  /**
   * One update with learning rate `lr`. `grads` is keyed like the variables; a variable without a
   * gradient is skipped entirely (no decay, no momentum, no step count), as torch skips `grad is None`.
   * The gradients are not disposed (the caller owns them).
   */
  apply(grads: Readonly<Record<string, tf.Tensor>>, lr: number): void;
  /**
   * The optimiser state as plain fp32 tensors, for checkpoints. Keys: SGD `momentum_buffer/<var>`
   * (absent until the variable's first update, as torch's lazily created buffer); AdamW
   * `exp_avg/<var>`, `exp_avg_sq/<var>`, `step/<var>` (shape [], the per-variable step count).
   */
  state(): Record<string, Float32Tensor>;
  /**
   * Replaces the state with one from {@link Optimizer.state} (same optimiser kind and variables).
   * @throws UserError naming the key that is unknown or has the wrong shape.
   */
  load(state: Readonly<Record<string, Float32Tensor>>): void;
  /** Frees the state tensors (the variables are not touched). */
  dispose(): void;
}

/** Rejects configurations torch would reject (negative lr, momentum, …); `where` names the caller. */
function validate(config: OptimizerConfig): void {
  const bad = (key: string, value: unknown, rule: string): never => {
    throw new UserError(`optimizer ${config.kind}: ${key} = ${String(value)} is invalid (${rule})`);
  };
  if (!(Number.isFinite(config.lr) && config.lr >= 0)) bad('lr', config.lr, 'a finite number ≥ 0');
  if (!(Number.isFinite(config.weightDecay) && config.weightDecay >= 0)) bad('weightDecay', config.weightDecay, 'a finite number ≥ 0');
  if (config.kind === 'sgd') {
    if (!(config.momentum >= 0 && Number.isFinite(config.momentum))) bad('momentum', config.momentum, 'a finite number ≥ 0');
    if (!Number.isFinite(config.dampening)) bad('dampening', config.dampening, 'a finite number');
    // torch: "Nesterov momentum requires a momentum and zero dampening"
    if (config.nesterov && (config.momentum <= 0 || config.dampening !== 0)) bad('nesterov', true, 'needs momentum > 0 and dampening = 0');
  } else {
    const [b1, b2] = config.betas;
    if (!(b1 >= 0 && b1 < 1)) bad('betas[0]', b1, 'in [0, 1)');
    if (!(b2 >= 0 && b2 < 1)) bad('betas[1]', b2, 'in [0, 1)');
    if (!(config.eps >= 0 && Number.isFinite(config.eps))) bad('eps', config.eps, 'a finite number ≥ 0');
  }
}

function toFloat32(t: tf.Tensor): Float32Tensor {
  return { shape: [...t.shape], data: Float32Array.from(t.dataSync() as Float32Array) };
}

/** A state store: named fp32 tensors kept outside any tidy scope. */
class StateStore {
  readonly tensors = new Map<string, tf.Tensor>();
  set(key: string, t: tf.Tensor): void {
    const old = this.tensors.get(key);
    this.tensors.set(key, tf.keep(t));
    if (old !== undefined && old !== t) old.dispose();
  }
  snapshot(): Record<string, Float32Tensor> {
    const out: Record<string, Float32Tensor> = {};
    for (const [k, t] of this.tensors) out[k] = toFloat32(t);
    return out;
  }
  replace(entries: ReadonlyMap<string, Float32Tensor>): void {
    this.dispose();
    for (const [k, t] of entries) this.tensors.set(k, tf.keep(tf.tensor(t.data, [...t.shape], 'float32')));
  }
  dispose(): void {
    for (const t of this.tensors.values()) t.dispose();
    this.tensors.clear();
  }
}

/**
 * Checks `state` against the expected keys (prefix → shape of the variable, or [] for a count) and
 * returns it as a map; `optional` prefixes may be missing (SGD buffers before the first update).
 */
function checkState(
  kind: string,
  state: Readonly<Record<string, Float32Tensor>>,
  variables: Readonly<Record<string, tf.Variable>>,
  prefixes: Readonly<Record<string, 'param' | 'scalar'>>,
  optional: boolean,
): Map<string, Float32Tensor> {
  const out = new Map<string, Float32Tensor>();
  const expected = new Map<string, readonly number[]>();
  for (const [name, v] of Object.entries(variables)) {
    for (const [prefix, shapeOf] of Object.entries(prefixes)) expected.set(`${prefix}/${name}`, shapeOf === 'param' ? v.shape : []);
  }
  for (const [key, t] of Object.entries(state)) {
    const shape = expected.get(key);
    if (shape === undefined) throw new UserError(`${kind} state: unknown key '${key}' (expected ${[...expected.keys()].join(', ')})`);
    if (JSON.stringify(shape) !== JSON.stringify(t.shape)) {
      throw new UserError(`${kind} state: '${key}' has shape ${JSON.stringify(t.shape)}, expected ${JSON.stringify(shape)}`);
    }
    out.set(key, t);
  }
  if (!optional) {
    for (const key of expected.keys()) if (!out.has(key)) throw new UserError(`${kind} state: missing '${key}'`);
  }
  return out;
}

function createSgd(config: SgdConfig, variables: Readonly<Record<string, tf.Variable>>): Optimizer {
  const store = new StateStore();
  const { momentum, dampening, nesterov, weightDecay } = config;
  return {
    apply(grads, lr) {
      for (const [name, variable] of Object.entries(variables)) {
        const grad = grads[name];
        if (grad === undefined) continue;
        const key = `momentum_buffer/${name}`;
        tf.tidy(() => {
          // torch: grad = grad.add(param, alpha=weight_decay)  (coupled decay)
          let g: tf.Tensor = weightDecay !== 0 ? tf.add(grad, tf.mul(variable, weightDecay)) : grad;
          if (momentum !== 0) {
            const old = store.tensors.get(key);
            // torch creates the buffer as a copy of the first (decayed) gradient, without damping it.
            const buf = old === undefined
              ? tf.clone(g)
              : tf.add(tf.mul(old, momentum), dampening !== 0 ? tf.mul(g, 1 - dampening) : g);
            store.set(key, buf);
            g = nesterov ? tf.add(g, tf.mul(buf, momentum)) : buf;
          }
          variable.assign(tf.sub(variable, tf.mul(g, lr)));
        });
      }
    },
    state: () => store.snapshot(),
    load(state) {
      store.replace(checkState('sgd', state, variables, { momentum_buffer: 'param' }, true));
    },
    dispose: () => store.dispose(),
  };
}

function createAdamW(config: AdamWConfig, variables: Readonly<Record<string, tf.Variable>>): Optimizer {
  const store = new StateStore();
  const steps = new Map<string, number>(); // per-variable step counts (torch keeps one per parameter)
  const [beta1, beta2] = config.betas;
  const { eps, weightDecay } = config;
  return {
    apply(grads, lr) {
      for (const [name, variable] of Object.entries(variables)) {
        const grad = grads[name];
        if (grad === undefined) continue;
        const step = (steps.get(name) ?? 0) + 1;
        steps.set(name, step);
        tf.tidy(() => {
          // Decoupled decay first, on the parameter itself: param.mul_(1 − lr·wd).
          const p = weightDecay !== 0 ? tf.mul(variable, 1 - lr * weightDecay) : variable;
          const m0 = store.tensors.get(`exp_avg/${name}`) ?? tf.zerosLike(variable);
          const v0 = store.tensors.get(`exp_avg_sq/${name}`) ?? tf.zerosLike(variable);
          // exp_avg.lerp_(grad, 1 − β1): torch's lerp with weight < 0.5 is self + w·(end − self).
          const w1 = 1 - beta1;
          const m = w1 < 0.5 ? tf.add(m0, tf.mul(tf.sub(grad, m0), w1)) : tf.sub(grad, tf.mul(tf.sub(grad, m0), 1 - w1));
          // exp_avg_sq.mul_(β2).addcmul_(grad, grad, value = 1 − β2)
          const v = tf.add(tf.mul(v0, beta2), tf.mul(tf.mul(grad, grad), 1 - beta2));
          const biasCorrection1 = 1 - beta1 ** step;
          const biasCorrection2Sqrt = Math.sqrt(1 - beta2 ** step);
          const stepSize = lr / biasCorrection1;
          // denom = exp_avg_sq.sqrt() / sqrt(bc2) + eps;  param.addcdiv_(exp_avg, denom, value=−step_size)
          const denom = tf.add(tf.div(tf.sqrt(v), biasCorrection2Sqrt), eps);
          store.set(`exp_avg/${name}`, m);
          store.set(`exp_avg_sq/${name}`, v);
          variable.assign(tf.sub(p, tf.mul(tf.div(m, denom), stepSize)));
        });
      }
    },
    state() {
      const out = store.snapshot();
      for (const [name, step] of steps) out[`step/${name}`] = { shape: [], data: Float32Array.of(step) };
      return out;
    },
    load(state) {
      const entries = checkState('adamw', state, variables, { exp_avg: 'param', exp_avg_sq: 'param', step: 'scalar' }, true);
      const tensors = new Map<string, Float32Tensor>();
      steps.clear();
      for (const [key, t] of entries) {
        if (key.startsWith('step/')) steps.set(key.slice('step/'.length), t.data[0]!);
        else tensors.set(key, t);
      }
      // A variable has all three entries or none (it was never updated).
      for (const name of Object.keys(variables)) {
        const present = [`exp_avg/${name}`, `exp_avg_sq/${name}`].filter((k) => tensors.has(k)).length + (steps.has(name) ? 1 : 0);
        if (present !== 0 && present !== 3) throw new UserError(`adamw state: '${name}' needs exp_avg, exp_avg_sq and step together`);
      }
      store.replace(tensors);
    },
    dispose: () => store.dispose(),
  };
}

/**
 * Creates an optimiser over `variables` (keys are the names used in grads and state).
 * @example const opt = createOptimizer({ kind: 'sgd', lr: 0.002, momentum: 0.9, weightDecay: 5e-4, dampening: 0, nesterov: false }, { ctx });
 *          opt.apply({ ctx: grad }, 0.002);
 */
export function createOptimizer(config: OptimizerConfig, variables: Readonly<Record<string, tf.Variable>>): Optimizer {
  validate(config);
  for (const [name, v] of Object.entries(variables)) {
    if (v.dtype !== 'float32') throw new UserError(`variable '${name}' is ${v.dtype}; the optimisers train float32 variables only`);
  }
  switch (config.kind) {
    case 'sgd': return createSgd(config, variables);
    case 'adamw': return createAdamW(config, variables);
    default: throw new UserError(`unknown optimizer kind '${(config as { kind: string }).kind}' (use sgd or adamw)`);
  }
}
