// Rebuilds the committed clause index and ID registry from the spec folders:
//   tsx spec-refs/build.ts [--spec-root DIR] [--check]
// Every version is extracted with text (fuzzy carry-forward needs it); only IDs, labels,
// numbers, keywords and fingerprints are written. --check compares instead of writing.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { UsageError } from '../cli/errors.ts';
import { hasVersion, INDEX_DIR, latestVersion, loadIndex, REGISTRY_FILE } from './load.ts';
import { attachStableIds, buildRegistry, formatJson, toIndex, type BuildResult } from './registry.ts';
import type { ClauseIndex, ExtractedSpec } from './types.ts';

/** Carry-forward order, oldest first. */
export const SPEC_VERSIONS = ['v1.0-cs04', 'v1.1-cs01', 'v1.2-cs01', 'v1.3-csd01', 'v1.4-cs01'];
export const DEFAULT_SPEC_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../shared/virtio-spec');

export type ExtractFn = (dir: string, opts?: { withText?: boolean }) => ExtractedSpec;

/** The extractor (spec-refs/extract/index.ts), loaded lazily so that commands reading
 *  only the committed index never pay for it. */
export async function loadExtractor(): Promise<ExtractFn> {
  const path = join(dirname(fileURLToPath(import.meta.url)), 'extract', 'index.ts');
  if (!existsSync(path)) throw new Error('the spec extractor (spec-refs/extract/index.ts) is not available');
  const mod = (await import(pathToFileURL(path).href)) as { extractSpec: ExtractFn };
  return mod.extractSpec;
}

/** Extracts one spec folder; bad input (missing folder, no main.tex, malformed TeX) → UsageError. */
export async function extractDir(dir: string, opts: { withText?: boolean } = {}): Promise<ExtractedSpec> {
  if (!existsSync(dir)) throw new UsageError(`spec folder not found: ${dir}`);
  if (!existsSync(join(dir, 'main.tex'))) throw new UsageError(`not a VIRTIO spec folder (no main.tex): ${dir}`);
  const extract = await loadExtractor();
  try {
    return extract(dir, opts);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError((e as Error).message.split('\n')[0]);
  }
}

/** Clause text and context by stable ID, only for a spec read at run time. */
export type ClauseTexts = Map<string, { text?: string; lead?: string; scope?: string }>;

export interface OpenedSpec {
  index: ClauseIndex;
  /** Set when read from a folder: the folder, the extraction, and the clause texts. */
  dir?: string;
  extracted?: ExtractedSpec;
  texts?: ClauseTexts;
}

/**
 * A spec to list or compare: the committed index of `specVersion` (default: newest), or
 * `specDir` extracted now with text, its clauses given the committed stable IDs where
 * label and fingerprint match (the same version's index if committed, else the newest).
 */
export async function openSpec(o: { specVersion?: string; specDir?: string }): Promise<OpenedSpec> {
  if (o.specVersion !== undefined && o.specDir !== undefined) throw new UsageError('give --spec-version or --spec-dir, not both');
  if (o.specDir === undefined) return { index: loadIndex(o.specVersion) };
  const dir = resolve(o.specDir);
  const spec = await extractDir(dir, { withText: true });
  let base: ClauseIndex | undefined;
  try { base = loadIndex(hasVersion(spec.version) ? spec.version : latestVersion()); } catch { base = undefined; }
  const ids = attachStableIds(spec, base);
  const texts: ClauseTexts = new Map(spec.clauses.map((c, i) => [ids[i], { text: c.text, lead: c.lead, scope: c.scope }]));
  return { index: toIndex(spec, ids), dir, extracted: spec, texts };
}

export async function buildAll(specRoot: string, versions = SPEC_VERSIONS): Promise<BuildResult> {
  const specs: ExtractedSpec[] = [];
  for (const v of versions) specs.push(await extractDir(join(specRoot, v), { withText: true }));
  return buildRegistry(specs);
}

/** File path → content for everything the build writes. */
export function outputs(r: BuildResult): Map<string, string> {
  const m = new Map<string, string>();
  m.set(REGISTRY_FILE, formatJson(r.registry));
  for (const ix of r.indexes) m.set(join(INDEX_DIR, `${ix.spec.version}.json`), formatJson(ix));
  return m;
}

async function cli(argv: string[]): Promise<number> {
  let specRoot = DEFAULT_SPEC_ROOT;
  let check = false;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--spec-root') specRoot = resolve(argv[++i] ?? '');
    else if (argv[i] === '--check') check = true;
    else { process.stderr.write(`build-index: unknown argument ${argv[i]}\nusage: build.ts [--spec-root DIR] [--check]\n`); return 2; }
  }
  const t0 = performance.now();
  const r = await buildAll(specRoot);
  for (const s of r.steps) {
    const c = s.counts;
    process.stderr.write(`${s.version}: exact ${c.exact}, moved ${c.moved}, fuzzy ${c['fuzzy-label']}+${c['fuzzy-cross']} (same/other label), minted ${c.minted}, withdrawn ${s.withdrawn}\n`);
  }
  let stale = 0;
  for (const [file, text] of outputs(r)) {
    if (check) {
      if (!existsSync(file) || readFileSync(file, 'utf8') !== text) { stale++; process.stderr.write(`stale: ${file}\n`); }
    } else {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, text);
    }
  }
  process.stderr.write(`${check ? 'checked' : 'wrote'} ${r.indexes.length} indexes and the registry (${r.registry.entries.length} IDs) in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  return stale ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  cli(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e) => {
    process.stderr.write(`build-index: ${e instanceof UsageError ? e.message : (e as Error).stack}\n`);
    process.exitCode = 2;
  });
}
