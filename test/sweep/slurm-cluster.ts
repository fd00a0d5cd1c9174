/**
 * A single-node Slurm cluster for a test, from Debian's packages (slurm-wlm, munge): munged with
 * its own key and socket, slurmctld and slurmd in the foreground with `-f` pointing at a slurm.conf
 * in a temp folder (state, spool, logs and pid files there too; free loopback ports). The client
 * commands find it through SLURM_CONF. `stop()` ends the three daemons by their pids and removes
 * the folder. A missing package is an error naming it (never a skip).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A running cluster. */
export interface SlurmCluster {
  readonly dir: string;
  /** slurm.conf (the clients' SLURM_CONF). */
  readonly conf: string;
  /** Environment for sbatch/squeue. */
  readonly env: Readonly<Record<string, string>>;
  stop(): Promise<void>;
}

const PROGRAMS: [string, string][] = [['munged', 'munge'], ['slurmctld', 'slurm-wlm'], ['slurmd', 'slurm-wlm'], ['sbatch', 'slurm-wlm'], ['squeue', 'slurm-wlm'], ['sinfo', 'slurm-wlm']];

function which(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore', env: { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin` } });
    return true;
  } catch {
    return false;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function stopProcess(p: ChildProcess | undefined): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => p.kill('SIGKILL'), 10_000);
    p.once('exit', () => { clearTimeout(timer); resolve(); });
    p.kill('SIGTERM');
  });
}

/** Starts munged, slurmctld and slurmd; resolves when the node is idle. */
export async function startSlurm(): Promise<SlurmCluster> {
  const missing = PROGRAMS.filter(([cmd]) => !which(cmd));
  if (missing.length > 0) {
    const pkgs = [...new Set(missing.map(([, p]) => p))];
    throw new Error(`Slurm is missing (${missing.map(([c]) => c).join(', ')} not found): apt-get install -y ${pkgs.join(' ')} (.ci/run installs them)`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'iwpl-slurm-'));
  chmodSync(dir, 0o755); // munged wants its socket's folders searchable by all
  const procs: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    for (const p of [...procs].reverse()) await stopProcess(p);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const d of ['state', 'spool', 'sock', 'munge']) mkdirSync(join(dir, d));
    chmodSync(join(dir, 'sock'), 0o755);
    chmodSync(join(dir, 'munge'), 0o700);
    const key = join(dir, 'munge', 'munge.key');
    writeFileSync(key, randomBytes(1024), { mode: 0o400 });
    const socket = join(dir, 'sock', 'munge.socket');
    const daemon = (cmd: string, args: string[], log: string): ChildProcess => {
      const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin` } });
      let text = '';
      p.stdout!.on('data', (b) => { text += b; });
      p.stderr!.on('data', (b) => { text += b; });
      p.on('exit', () => { try { writeFileSync(join(dir, log), text); } catch { /* folder gone */ } });
      (p as ChildProcess & { output: () => string }).output = () => text;
      procs.push(p);
      return p;
    };
    const munged = daemon('munged', ['-F', '-f', `--key-file=${key}`, `--socket=${socket}`, `--pid-file=${join(dir, 'munge', 'munged.pid')}`,
      `--log-file=${join(dir, 'munge', 'munged.log')}`, `--seed-file=${join(dir, 'munge', 'munged.seed')}`], 'munged.out');
    const [ctldPort, dPort] = [await freePort(), await freePort()];
    const conf = join(dir, 'slurm.conf');
    writeFileSync(conf, [
      'ClusterName=iwpltest', 'SlurmctldHost=localhost', 'SlurmUser=root', 'SlurmdUser=root',
      `SlurmctldPort=${ctldPort}`, `SlurmdPort=${dPort}`,
      'AuthType=auth/munge', `AuthInfo=socket=${socket}`, 'CredType=cred/munge',
      `StateSaveLocation=${join(dir, 'state')}`, `SlurmdSpoolDir=${join(dir, 'spool')}`,
      `SlurmctldPidFile=${join(dir, 'slurmctld.pid')}`, `SlurmdPidFile=${join(dir, 'slurmd.pid')}`,
      `SlurmctldLogFile=${join(dir, 'slurmctld.log')}`, `SlurmdLogFile=${join(dir, 'slurmd.log')}`,
      'ProctrackType=proctrack/linuxproc', 'TaskPlugin=task/none', 'JobAcctGatherType=jobacct_gather/none',
      'AccountingStorageType=accounting_storage/none', 'SelectType=select/cons_tres', 'SelectTypeParameters=CR_Core',
      'MpiDefault=none', 'ReturnToService=2', 'SchedulerType=sched/backfill',
      'NodeName=localhost CPUs=2 State=UNKNOWN', 'PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP', '',
    ].join('\n'));
    const env = { SLURM_CONF: conf };
    for (let i = 0; i < 50 && !readFileSafe(join(dir, 'munge', 'munged.pid')); i++) await sleep(100);
    if (munged.exitCode !== null) throw new Error(`munged exited (${munged.exitCode}): ${(munged as ChildProcess & { output: () => string }).output()}`);
    daemon('slurmctld', ['-D', '-i', '-f', conf], 'slurmctld.out');
    daemon('slurmd', ['-D', '-f', conf, '-N', 'localhost'], 'slurmd.out');
    let state = '';
    for (let i = 0; i < 100; i++) {
      try {
        state = execFileSync('sinfo', ['-h', '-N', '-o', '%t'], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'pipe'] }).trim();
      } catch { state = ''; }
      if (state === 'idle') break;
      for (const p of procs) if (p.exitCode !== null) throw new Error(`${p.spawnfile} exited (${p.exitCode}): ${(p as ChildProcess & { output: () => string }).output().slice(-2000)}`);
      await sleep(200);
    }
    if (state !== 'idle') throw new Error(`the Slurm node is not idle after 20 s (state "${state}"); slurmctld.log: ${readFileSafe(join(dir, 'slurmctld.log')).slice(-1500)}`);
    return { dir, conf, env, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function readFileSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
