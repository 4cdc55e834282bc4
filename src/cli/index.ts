// The `iommu-lab` command line. Each command lives in its own module; this file parses arguments
// (commander) and turns errors into one clear message and an exit code, never a stack trace.
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { LAB_VERSION } from '../host/session';
import { InputError } from '../host/inputs';
import { steadyJit } from '../host/steady-jit';
import { crosscheckCommand } from './crosscheck-command';
import { EXIT } from './exit-codes';
import { genCommand, type GenCommandOptions } from './gen-command';
import { importCommand } from './import-command';
import { platformCommand } from './platform-command';
import { replayCommand } from './replay';
import { diffCommand, whatIfCommand } from './report-command';
import { runCommand } from './run';
import { serveCommand } from './serve';

const out = (s: string): void => void process.stdout.write(s + '\n');

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('a port is 0–65535 (0 picks a free one)');
  return n;
}

export function buildProgram(): Command {
  const program = new Command('iommu-lab')
    .description('Replay PCIe/DMA traces through an Intel VT-d + Linux IOMMU model and explain every fault.')
    .version(LAB_VERSION)
    .exitOverride()
    .showHelpAfterError();

  program
    .command('replay')
    .description('replay a trace and print a summary of devices and faults')
    .argument('<trace>', 'trace file')
    .option('-p, --platform <file>', 'platform description (default: the one the trace names)')
    .option('--json', 'print JSON (schema: docs/replay-json.md)')
    .option('--max-faults <n>', 'fault lines to print', (v) => parseInt(v, 10), 20)
    .addOption(
      new Option('--iotlb <mode>', 'hardware: stale IOTLB entries translate until invalidated; strict: never')
        .choices(['hardware', 'strict'])
        .default('hardware'),
    )
    .addOption(
      new Option(
        '--profile <name>',
        'fault semantics (default: qemu-7.2 for QEMU captures, vtd-spec otherwise)',
      ).choices(['vtd-spec', 'qemu-7.2']),
    )
    .option('--compare-profiles', 'replay under both profiles and list the requests whose outcome differs')
    .option('--report <file>', 'write a fault report: .html, .json, .csv or .pdf (docs/report.md)')
    .option(
      '--firmware <files...>',
      'ACPI tables, lspci output, kernel logs: their findings go in the report',
    )
    .option(
      '--progress',
      'native traces: a progress line on stderr every second (default: when stderr is a terminal)',
    )
    .option('--filter <expr>', 'list only the faults and hazards matching a filter (docs/filter.md)')
    .action(
      async (
        trace: string,
        o: {
          platform?: string;
          json?: boolean;
          maxFaults: number;
          iotlb: 'hardware' | 'strict';
          profile?: 'vtd-spec' | 'qemu-7.2';
          compareProfiles?: boolean;
          report?: string;
          firmware?: string[];
          progress?: boolean;
          filter?: string;
        },
      ) => {
        process.exitCode = await replayCommand(trace, o, out);
      },
    );

  program
    .command('import')
    .description(
      'read a kernel log, ftrace output, QEMU vtd_* trace or analyzer CSV (gzip ok); report faults, hints, events; list a Keysight/Agilent .pad[.zst] capture',
    )
    .argument('<file>', 'capture to import')
    .option('--from <kind>', 'kernel-log | ftrace | qemu-trace | analyzer-csv[:preset] (default: detected)')
    .option('--json', 'print JSON (schema: docs/import-json.md)')
    .option('-o, --output <file>', 'write a native trace (.iotrace); a text trace (JSON lines) is converted')
    .option(
      '-p, --platform <file>',
      'with -o: the platform to embed (default: built from the file if it can be)',
    )
    .option('--device <bdf>', 'with -o: the device ftrace map/unmap events that name none belong to')
    .action(
      async (
        file: string,
        o: { from?: string; json?: boolean; output?: string; platform?: string; device?: string },
      ) => {
        process.exitCode = await importCommand(file, o, out);
      },
    );

  program
    .command('gen')
    .description('write a deterministic synthetic native trace whose fault count is known by construction')
    .requiredOption('--seed <n>', 'PRNG seed (same options, same bytes)')
    .requiredOption('--tlps <n>', 'TLP records (k, M, G suffixes: 50M)')
    .option('--devices <n>', 'devices issuing DMA (default 4)')
    .option('--pasids <n>', 'PASIDs per iommufd device; every other device uses iommufd (default 0)')
    .option('--working-set <pages>', 'pages mapped per device (default 256)')
    .option('--fault-rate <r>', 'fraction of TLPs to pages never mapped (default 0.001)')
    .option('--tbit-mix <r>', 'fraction of the other TLPs with the TEE-IO T bit (default 0)')
    .option('--stale-unmaps <n>', 'use-after-unmap sequences: unmap without IOTLB invalidation (default 0)')
    .option('--control-events <n>', 'extra map/unmap control events spread over the trace (default 0)')
    .option('-p, --platform <file>', 'platform to embed (default: a sample platform with --devices devices)')
    .requiredOption('-o, --output <file>', 'native trace to write (.iotrace)')
    .option('--json', 'print what was written as JSON')
    .action(async (o: GenCommandOptions) => {
      process.exitCode = await genCommand(o, out);
    });

  program
    .command('platform')
    .description(
      'decode and lint ACPI DMAR/IVRS tables; build units, reserved regions and IOMMU groups with lspci and the kernel log',
    )
    .argument(
      '<files...>',
      'ACPI tables (binary, acpidump text, iasl .dsl), lspci -vvv / -tv output, kernel logs',
    )
    .option('--json', 'print JSON (schema: docs/platform-json.md)')
    .action(async (files: string[], o: { json?: boolean }) => {
      process.exitCode = await platformCommand(files, o, out);
    });

  program
    .command('crosscheck')
    .description(
      'replay a QEMU VT-d capture (guest console + QEMU vtd_* trace, gzip ok) and report the agreement',
    )
    .argument('<guest-log>', 'guest serial console: dmesg with iommu:* tracepoints (tp_printk)')
    .argument('<qemu-trace>', "QEMU log-backend trace of 'vtd_*' events (-msg timestamp=on)")
    .option('--json', 'print JSON (schema: docs/crosscheck.md)')
    .addOption(
      new Option('--profile <name>', 'fault semantics of the lab')
        .choices(['qemu-7.2', 'vtd-spec'])
        .default('qemu-7.2'),
    )
    .option('--shift-maps <pages>', 'negative control: shift every guest map by N pages', (v) =>
      parseInt(v, 10),
    )
    .action(
      async (guest: string, trace: string, o: { json?: boolean; profile?: string; shiftMaps?: number }) => {
        process.exitCode = await crosscheckCommand(guest, trace, o, out);
      },
    );

  program
    .command('diff')
    .description('compare two fault reports (JSON from --report): new, fixed and changed clusters')
    .argument('<a>', 'baseline report (.json)')
    .argument('<b>', 'report to compare with it')
    .option('--json', 'print JSON (docs/report.md)')
    .action(async (a: string, b: string, o: { json?: boolean }) => {
      process.exitCode = await diffCommand(a, b, o, out);
    });

  program
    .command('what-if')
    .description('replay a trace with edits to its platform and diff against the original (docs/report.md)')
    .argument('<trace>', 'trace file')
    .option('-p, --platform <file>', 'platform description (default: the one the trace names)')
    .option(
      '--set <edit>',
      'rmrr.add=BASE-END@BDF[,BDF], rmrr.N.base|end|scope=…, device.BDF.domain=identity|dma|dma-fq, tee.boundary=ADDR, kernel.defaultDomain=… (repeatable)',
      (v: string, p: string[]) => [...p, v],
      [] as string[],
    )
    .option('--patch <file>', 'RFC 6902 JSON Patch applied to the platform description first')
    .option(
      '--report <file>',
      "write the edited run's report: .html (with the comparison), .json, .csv or .pdf",
    )
    .option('--json', 'print the diff as JSON')
    .addOption(
      new Option('--iotlb <mode>', 'hardware: stale IOTLB entries translate until invalidated; strict: never')
        .choices(['hardware', 'strict'])
        .default('hardware'),
    )
    .addOption(new Option('--profile <name>', 'fault semantics').choices(['vtd-spec', 'qemu-7.2']))
    .action(
      async (
        trace: string,
        o: {
          platform?: string;
          set: string[];
          patch?: string;
          report?: string;
          json?: boolean;
          iotlb: 'hardware' | 'strict';
          profile?: 'vtd-spec' | 'qemu-7.2';
        },
      ) => {
        process.exitCode = await whatIfCommand(trace, o, out);
      },
    );

  program
    .command('run')
    .description('run a control script (iommufd, kernel and TDISP events) against a platform')
    .argument('<script>', 'control script (JSON lines, docs/control-script.md)')
    .requiredOption('-p, --platform <file>', 'platform description (docs/platform-format.md)')
    .option('--json', 'one JSON object per event')
    .action(async (script: string, o: { platform: string; json?: boolean }) => {
      process.exitCode = await runCommand(script, o, out);
    });

  program
    .command('serve')
    .description('serve the lab to a browser on 127.0.0.1 (URL with an access token is printed)')
    .argument('[files...]', 'platforms and traces to open')
    .option('--port <n>', 'TCP port (0 picks a free one)', port, 0)
    .action(async (files: string[], o: { port: number }) => {
      const { host, session } = await serveCommand(files, { port: o.port }, out);
      const stop = (): void => {
        session.dispose();
        void host.close().then(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });

  return program;
}

export async function main(argv: string[]): Promise<void> {
  steadyJit();
  // `iommu-lab replay … | head`: a closed pipe ends the output quietly, not with a stack trace
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode === 0 ? 0 : EXIT.FATAL;
      return;
    }
    const msg = e instanceof InputError ? e.message : `iommu-lab: ${(e as Error).message}`;
    process.stderr.write(msg + '\n');
    process.exitCode = EXIT.FATAL;
  }
}
