// Read access to the committed clause index (spec-refs/index/<version>.json) and the ID
// registry (spec-refs/registry.json). Files are parsed once per process.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../cli/errors.ts';
import type { ClauseIndex, IndexedClause, Registry, RegistryEntry, Role } from './types.ts';

const here = dirname(fileURLToPath(import.meta.url));
export const INDEX_DIR = join(here, 'index');
export const REGISTRY_FILE = join(here, 'registry.json');

let registry: Registry | undefined;
const indexes = new Map<string, ClauseIndex>();
let byId: Map<string, RegistryEntry> | undefined;

export function loadRegistry(): Registry {
  if (!registry) {
    if (!existsSync(REGISTRY_FILE)) throw new Error(`clause registry missing: ${REGISTRY_FILE} (run npm run build-index)`);
    registry = JSON.parse(readFileSync(REGISTRY_FILE, 'utf8')) as Registry;
  }
  return registry;
}

/** Committed spec versions, oldest first. */
export function listVersions(): string[] {
  return [...loadRegistry().versions];
}

export function latestVersion(): string {
  const v = listVersions();
  return v[v.length - 1];
}

export function hasVersion(version: string): boolean {
  return listVersions().includes(version);
}

/** The committed index of one version (default: the newest); UsageError for an unknown one. */
export function loadIndex(version: string = latestVersion()): ClauseIndex {
  let ix = indexes.get(version);
  if (ix) return ix;
  if (!hasVersion(version)) {
    throw new UsageError(`unknown spec version '${version}' (known: ${listVersions().join(', ')})`);
  }
  ix = JSON.parse(readFileSync(join(INDEX_DIR, `${version}.json`), 'utf8')) as ClauseIndex;
  indexes.set(version, ix);
  return ix;
}

const rowMaps = new Map<string, Map<string, IndexedClause>>();
function rowsById(version: string): Map<string, IndexedClause> {
  let m = rowMaps.get(version);
  if (!m) { m = new Map(loadIndex(version).clauses.map((c) => [c.id, c])); rowMaps.set(version, m); }
  return m;
}

export interface ResolvedClause {
  entry: RegistryEntry;
  /** The clause's row in every committed version that has it, oldest first. */
  rows: { version: string; clause: IndexedClause }[];
}

/** Registry entry and per-version rows of a stable clause ID, or undefined if unknown. */
export function resolveClause(id: string): ResolvedClause | undefined {
  byId ??= new Map(loadRegistry().entries.map((e) => [e.id, e]));
  const entry = byId.get(id);
  if (!entry) return undefined;
  const rows: ResolvedClause['rows'] = [];
  for (const version of listVersions()) {
    if (entry.fingerprints[version] === undefined) continue;
    const clause = rowsById(version).get(id);
    if (clause) rows.push({ version, clause });
  }
  return { entry, rows };
}

/**
 * For an unknown ID: the stable ID of the clause it most likely means. An ID minted from a
 * later version of an edited or moved clause carries a fingerprint the registry recorded
 * for that clause: same `<role>/<area>/<slug>` first, else the one clause of that role
 * with that fingerprint. Lets error messages say "did you mean".
 */
export function suggestClause(id: string): string | undefined {
  const m = /^((dev|drv|leg|inf)\/[^#]*)#([0-9a-f]{8})(~\d+)?$/.exec(id);
  if (!m) return undefined;
  const withFp = loadRegistry().entries.filter((e) => e.id.startsWith(`${m[2]}/`) && Object.values(e.fingerprints).includes(m[3]));
  const samePath = withFp.find((e) => e.id.startsWith(`${m[1]}#`));
  if (samePath) return samePath.id;
  return withFp.length === 1 ? withFp[0].id : undefined;
}

export const ROLES = ['dev', 'drv', 'leg', 'inf'] as const;

/** `--role dev` or `--role dev,drv` → roles; anything else → UsageError. */
export function parseRoles(arg: string | undefined): Role[] | undefined {
  if (arg === undefined) return undefined;
  const roles = arg.split(',').map((r) => r.trim());
  for (const r of roles) {
    if (!(ROLES as readonly string[]).includes(r)) throw new UsageError(`unknown role '${r}' (one of ${ROLES.join(', ')})`);
  }
  return roles as Role[];
}

/**
 * The OASIS copyright line and Notices section of a spec folder's title.tex, de-TeXed.
 * The spec's terms allow quoting clause text only with this notice, so every output that
 * shows spec text prints it (read at run time, never committed).
 */
export function readSpecNotice(dir: string): string {
  const file = join(dir, 'title.tex');
  if (!existsSync(file)) throw new UsageError(`no title.tex in ${dir}: cannot show spec text without its OASIS notice`);
  const tex = readFileSync(file, 'utf8');
  const start = tex.indexOf('\\oasisnoticelabel{Notices}');
  if (start < 0) throw new UsageError(`${file}: no Notices section: cannot show spec text without its OASIS notice`);
  const endMark = tex.indexOf('\\end{titlepage}', start);
  const body = tex.slice(start + '\\oasisnoticelabel{Notices}'.length, endMark < 0 ? undefined : endMark);
  return body
    .split('\n').filter((l) => !/^\s*%/.test(l)).join('\n')
    .replace(/\\href\{([^}]*)\}\{([^}]*)\}/g, '$2 <$1>')
    .replace(/\\url\{([^}]*)\}/g, '$1')
    .replace(/\\\\+/g, '')
    .split(/\n\s*\n/).map((p) => p.replace(/\s+/g, ' ').trim()).filter(Boolean)
    .join('\n\n');
}
