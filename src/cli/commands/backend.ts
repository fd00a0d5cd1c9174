/**
 * `iwpl backend [--json]`: which compute backend iwpl uses here and what it runs on — TensorFlow's
 * version, devices, thread settings and where the native library came from. Chooses the backend
 * the way every other command does (IWPL_BACKEND, else tensorflow when installed, else wasm).
 */
import type { Command } from 'commander';
import { initBackend, NATIVE_SETUP_HINT } from '../../backend/select.ts';
import { backendInfo, type BackendInfo, type DeviceInfo } from '../../backend/info.ts';

function deviceLine(d: DeviceInfo): string {
  if (d.kind === 'CPU') return `CPU: ${d.name} (${d.cores ?? '?'} cores)`;
  return `GPU: ${d.name}${d.memoryMiB !== undefined ? `, ${d.memoryMiB} MiB` : ''}`;
}

/** The human-readable report, one fact per line. */
export function formatBackendInfo(info: BackendInfo): string {
  const lines = [`backend: ${info.backend}`];
  if (info.tensorflowVersion !== undefined) {
    lines.push(`TensorFlow: ${info.tensorflowVersion} (running on ${info.tensorflowUsesGpu ? 'GPU' : 'CPU'})`);
  }
  for (const d of info.devices) lines.push(`device: ${deviceLine(d)}`);
  if (info.native !== undefined) {
    const n = info.native;
    lines.push(`threads: intra-op ${n.intraOpThreads} (from ${n.intraOpSource}), inter-op ${n.interOpThreads} (from ${n.interOpSource})`);
    lines.push(`deterministic ops: ${n.deterministicOps ? 'on' : 'off'} (TF_DETERMINISTIC_OPS)`);
  }
  if (info.library !== undefined) {
    const l = info.library;
    lines.push(`${info.backend === 'tensorflow' ? 'library' : 'native library (not in use)'}: ${l.variant} build, TensorFlow ${l.tensorflowVersion}, in ${l.libDir}`);
    for (const w of l.wheels) lines.push(`  from wheel: ${typeof w === 'string' ? w : `${w.file}${w.path !== undefined ? ` (${w.path})` : ''}`}`);
    lines.push(`  binding: ${l.binding}`);
  }
  for (const [name, version] of Object.entries(info.tfjs)) lines.push(`${name}: ${version}`);
  if (info.library === undefined) lines.push(`native backend: not installed; ${NATIVE_SETUP_HINT}`);
  return `${lines.join('\n')}\n`;
}

/** Adds `iwpl backend` to the program. */
export function registerBackend(program: Command): void {
  program.command('backend')
    .description('show the compute backend (IWPL_BACKEND: tensorflow | wasm | cpu), TensorFlow version, devices, threads and library origin')
    .option('--json', 'print one JSON object instead of text')
    .action(async (opts: { json?: boolean }) => {
      await initBackend();
      const info = backendInfo();
      process.stdout.write(opts.json ? `${JSON.stringify(info)}\n` : formatBackendInfo(info));
    });
}
