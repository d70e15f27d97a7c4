/** `magnetar cluster <up|down|status>`: a local multi-process cluster for development. */
import { Command } from 'commander';
import { runProgram, toInt } from '../common.ts';
import { clusterDown } from './down.ts';
import { clusterStatus, statusTable } from './status.ts';
import { clusterUp, type UpFlags } from './up.ts';

const DEFAULT_DIR = './data/cluster';

export function clusterProgram(): Command {
  const program = new Command('magnetar cluster').description(
    'A local multi-process cluster: real etcd, N bookies, M brokers, coordinators; logs under <dir>/logs.',
  );
  program
    .command('up')
    .description('start etcd, bookies, brokers and coordinators; create public/default')
    .option('--dir <dir>', 'data, logs and state directory', DEFAULT_DIR)
    .option('--cluster <name>', 'cluster name', 'local')
    .option('--bookies <n>', 'bookies', toInt, 3)
    .option('--brokers <n>', 'brokers', toInt, 1)
    .option('--coordinators <n>', 'coordinators', toInt, 1)
    .option('--etcd-port <port>', 'etcd client port (peer port is +1)', toInt, 2379)
    .option('--bookie-port <port>', 'first bookie gRPC port (HTTP from 8000)', toInt, 3181)
    .option('--broker-port <port>', 'first broker service port', toInt, 6650)
    .option('--web-port <port>', 'first broker admin/HTTP port', toInt, 8080)
    .option('--coordinator-port <port>', 'first coordinator HTTP port', toInt, 8090)
    .option('--port-offset <n>', 'add this to every port', toInt, 0)
    .option('--auto-ports', 'use free ports instead of the fixed ones')
    .option('--etcd-bin <path>', 'etcd binary', process.env.ETCD_BIN ?? 'etcd')
    .option('--ready-timeout-ms <ms>', 'how long each process may take to become ready', toInt, 90_000)
    .option('--json', 'print the state as JSON')
    .action(async (flags: UpFlags) => {
      const s = await clusterUp(flags);
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(s)}\n`);
        return;
      }
      process.stdout.write(
        `cluster ${s.cluster} is up (${s.processes.length} processes, logs in ${s.dir}/logs)\n`,
      );
      process.stdout.write(
        `  service URL  ${s.serviceUrl}\n  admin URL    ${s.adminUrl}\n  metadata     ${s.metadataUrl}\n`,
      );
    });
  program
    .command('down')
    .description('stop every process of the cluster (SIGTERM, then SIGKILL after the grace time)')
    .option('--dir <dir>', 'directory given to cluster up', DEFAULT_DIR)
    .option('--grace-ms <ms>', 'time to stop cleanly before SIGKILL', toInt, 15_000)
    .option('--purge', 'delete the directory (data and logs) afterwards')
    .option('--json', 'print the result as JSON')
    .action(async (flags: { dir: string; graceMs: number; purge?: boolean; json?: boolean }) => {
      const results = await clusterDown(flags.dir, flags.graceMs, flags.purge === true);
      if (flags.json) process.stdout.write(`${JSON.stringify(results)}\n`);
      else
        for (const r of results)
          process.stdout.write(`${r.name.padEnd(16)} ${String(r.pid).padEnd(8)} ${r.result}\n`);
    });
  program
    .command('status')
    .description('show each process: pid, running or not, health, ports')
    .option('--dir <dir>', 'directory given to cluster up', DEFAULT_DIR)
    .option('--json', 'print JSON')
    .action(async (flags: { dir: string; json?: boolean }) => {
      const s = await clusterStatus(flags.dir);
      process.stdout.write(`${flags.json ? JSON.stringify(s) : statusTable(s)}\n`);
      if (!s.processes.every((p) => p.running && p.healthy)) process.exitCode = 3;
    });
  return program;
}

export async function main(argv: string[]): Promise<number> {
  return runProgram(clusterProgram(), argv);
}
