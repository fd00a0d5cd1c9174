/**
 * What `iwpl backend` reports: the backend in use, TensorFlow's version, the devices, the thread
 * settings and where the native library came from (the manifest setup-native.sh writes beside it).
 */
import * as tf from '@tensorflow/tfjs-core';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { activeBackend, activeNativeSettings, type BackendName } from './select.ts';
import type { NativeSettings } from './native-env.ts';

/** One compute device. GPUs come from `nvidia-smi` (the driver), whether or not TensorFlow uses them. */
export interface DeviceInfo {
  readonly kind: 'CPU' | 'GPU';
  readonly name: string;
  /** CPU: logical cores available to this process. */
  readonly cores?: number;
  /** GPU: total memory in MiB. */
  readonly memoryMiB?: number;
}

/** A wheel the native library was unpacked from or installed with (setup-native.sh's manifest). */
export interface WheelInfo {
  readonly file: string;
  readonly sha256?: string;
  readonly path?: string;
}

/** Where the native library came from. */
export interface NativeLibraryInfo {
  /** 'cpu' (tensorflow-cpu wheel) or 'gpu' (tensorflow + nvidia-*-cu12 wheels). */
  readonly variant: string;
  readonly tensorflowVersion: string;
  readonly wheels: readonly (WheelInfo | string)[];
  /** The folder holding libtensorflow_cc.so.2, symlinks resolved. */
  readonly libDir: string;
  /** The compiled tfjs-node binding. */
  readonly binding: string;
}

/** Everything `iwpl backend` prints. */
export interface BackendInfo {
  readonly backend: BackendName;
  /** TF_Version() of the loaded library (tensorflow backend only). */
  readonly tensorflowVersion?: string;
  /** Whether TensorFlow placed its ops on a GPU (tensorflow backend only). */
  readonly tensorflowUsesGpu?: boolean;
  readonly devices: readonly DeviceInfo[];
  /** Threads and determinism the native library was loaded with (tensorflow backend only). */
  readonly native?: NativeSettings;
  /** The native library set up by `npm run setup:native`, whichever backend is in use. */
  readonly library?: NativeLibraryInfo;
  /** tfjs package versions in use. */
  readonly tfjs: Readonly<Record<string, string>>;
}

interface TfjsNodeBinding {
  TF_Version: string;
  isUsingGpuDevice(): boolean;
}

/** GPUs the NVIDIA driver reports; none when nvidia-smi is absent or fails. */
export function listNvidiaGpus(run: (cmd: string, args: string[]) => string = defaultRun): DeviceInfo[] {
  let out: string;
  try {
    out = run('nvidia-smi', ['--query-gpu=name,memory.total', '--format=csv,noheader,nounits']);
  } catch {
    return [];
  }
  return out.split('\n').map((line) => line.trim()).filter(Boolean).map((line) => {
    const cut = line.lastIndexOf(',');
    const memory = Number(line.slice(cut + 1).trim());
    return Object.freeze({ kind: 'GPU' as const, name: line.slice(0, cut).trim(), ...(Number.isFinite(memory) ? { memoryMiB: memory } : {}) });
  });
}

function defaultRun(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });
}

const requireHere = createRequire(import.meta.url);

/** The npm package behind each backend. */
const BACKEND_PACKAGE: Readonly<Record<BackendName, string>> = Object.freeze({
  tensorflow: '@tensorflow/tfjs-node',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs-backend-cpu',
});

function packageVersion(name: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(requireHere.resolve(`${name}/package.json`), 'utf8')) as { version: string }).version;
  } catch {
    return undefined;
  }
}

/** Reads setup-native.sh's manifest of the active variant; undefined when tfjs-node is not set up. */
export function nativeLibraryInfo(): NativeLibraryInfo | undefined {
  let pkg: string;
  try {
    pkg = dirname(requireHere.resolve('@tensorflow/tfjs-node/package.json'));
  } catch {
    return undefined;
  }
  const manifest = join(pkg, 'deps', 'active', 'source.json');
  if (!existsSync(manifest)) return undefined;
  const source = JSON.parse(readFileSync(manifest, 'utf8')) as {
    variant: string; tensorflowVersion: string; wheels: (WheelInfo | string)[];
  };
  return Object.freeze({
    variant: source.variant,
    tensorflowVersion: source.tensorflowVersion,
    wheels: Object.freeze(source.wheels),
    libDir: realpathSync(join(pkg, 'deps', 'lib')),
    binding: join(pkg, 'lib', 'napi-v8', 'tfjs_binding.node'),
  });
}

/** Collects {@link BackendInfo} for the backend {@link initBackend} chose (call it first). */
export function backendInfo(): BackendInfo {
  const backend = activeBackend();
  if (backend === undefined) throw new Error('backendInfo() needs initBackend() first');
  const cpuModel = cpus()[0]?.model.trim() ?? 'unknown CPU';
  const devices: DeviceInfo[] = [
    Object.freeze({ kind: 'CPU' as const, name: cpuModel, cores: availableParallelism() }),
    ...listNvidiaGpus(),
  ];
  const tfjs: Record<string, string> = {};
  for (const name of ['@tensorflow/tfjs-core', BACKEND_PACKAGE[backend]]) tfjs[name] = packageVersion(name) ?? 'unknown';
  const library = nativeLibraryInfo();
  if (backend !== 'tensorflow') {
    return Object.freeze({ backend, devices: Object.freeze(devices), ...(library !== undefined ? { library } : {}), tfjs: Object.freeze(tfjs) });
  }
  const binding = (tf.backend() as unknown as { binding: TfjsNodeBinding }).binding;
  const native = activeNativeSettings();
  return Object.freeze({
    backend,
    tensorflowVersion: binding.TF_Version,
    tensorflowUsesGpu: binding.isUsingGpuDevice(),
    devices: Object.freeze(devices),
    ...(native !== undefined ? { native } : {}),
    ...(library !== undefined ? { library } : {}),
    tfjs: Object.freeze(tfjs),
  });
}
