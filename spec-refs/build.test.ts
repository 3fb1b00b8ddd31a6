import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildAll, DEFAULT_SPEC_ROOT, outputs, SPEC_VERSIONS } from './build.ts';

const missing = SPEC_VERSIONS.filter((v) => !existsSync(join(DEFAULT_SPEC_ROOT, v, 'main.tex')));

// Skipped (the reason is in the title) when the spec sources are not checked out next to the repo.
describe.skipIf(missing.length > 0)(`build-index reproduces the committed files${missing.length ? ` — skipped: no spec sources for ${missing.join(', ')} under ${DEFAULT_SPEC_ROOT}` : ''}`, () => {
  it('rebuilding from the spec folders gives byte-identical index files and registry', async () => {
    const r = await buildAll(DEFAULT_SPEC_ROOT);
    const files = outputs(r);
    expect(files.size).toBe(SPEC_VERSIONS.length + 1);
    for (const [file, text] of files) {
      expect(existsSync(file), file).toBe(true);
      expect(readFileSync(file, 'utf8') === text, `${file} is stale: run npm run build-index`).toBe(true);
    }
    // Deterministic: a second build in the same process yields the same bytes.
    const again = outputs(await buildAll(DEFAULT_SPEC_ROOT));
    for (const [file, text] of files) expect(again.get(file) === text, file).toBe(true);
  });
});

describe('extractDir: bad input is a one-line UsageError', () => {
  it('names a missing folder, a folder without main.tex, and the file:line of malformed TeX', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { UsageError } = await import('../cli/errors.ts');
    const { extractDir } = await import('./build.ts');
    const dir = mkdtempSync(join(tmpdir(), 'cts-badspec-'));
    try {
      await expect(extractDir(join(dir, 'nope'))).rejects.toThrow(/spec folder not found/);
      await expect(extractDir(dir)).rejects.toThrow(/no main\.tex/);
      writeFileSync(join(dir, 'main.tex'), '\\chapter{One}\n\\section{Two\n');
      const err = await extractDir(dir).catch((e: Error) => e);
      expect(err).toBeInstanceOf(UsageError);
      expect((err as Error).message).toMatch(/^main\.tex:2: /);
      expect((err as Error).message).not.toContain('\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
