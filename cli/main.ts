// The `virtio-cts` command. Each subcommand lives in cli/commands/<name>.ts and
// exports `register(program)`; they are discovered here so that adding a command
// touches one file.
import { Command, CommanderError } from 'commander';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from './errors.ts';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * A reader that goes away (`virtio-cts run | head`) must not crash a run: further output
 * is dropped, the run goes on to write its reports and exit with its own code.
 */
function quietOnClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    stream.write = (() => true) as typeof stream.write;
  });
}

export async function main(argv: string[]): Promise<number> {
  quietOnClosedPipe(process.stdout);
  const program = new Command('virtio-cts')
    .description('Conformance test suite for the OASIS VIRTIO specification')
    .exitOverride()
    .configureOutput({ outputError: (s, write) => write(s) });
  const dir = join(here, 'commands');
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts')).sort()) {
    const mod = await import(join(dir, f));
    mod.register(program);
  }
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end here with exit code 0; usage errors with 2.
      return e.exitCode === 0 ? 0 : 2;
    }
    if (e instanceof UsageError) {
      process.stderr.write(`virtio-cts: error: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}
