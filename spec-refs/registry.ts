// Stable clause IDs across spec versions (spec-extraction.md §2.3 "Lifecycle").
// An extracted clause carries the ID minted from this version alone; the registry keeps
// the ID a clause got when it first appeared and carries it forward, oldest version
// first: exact minted ID → same fingerprint under another label (moved) → fuzzy token
// match (≥0.6 within a label, ≥0.8 across labels) → mint. Unmatched old IDs are
// withdrawn. Fuzzy matching needs clause text, so the registry is built from spec
// folders extracted with text; the committed index and registry hold no text.
import type {
  ClauseIndex, ExtractedClause, ExtractedSpec, IndexedClause, Registry, RegistryEntry, Section,
} from './types.ts';

export const SAME_LABEL_RATIO = 0.6;
export const CROSS_LABEL_RATIO = 0.8;

export type MatchKind = 'exact' | 'moved' | 'fuzzy-label' | 'fuzzy-cross' | 'minted';

/** A clause of the previous version together with its stable ID. */
export interface Tracked {
  id: string;
  clause: ExtractedClause;
}

export interface StepResult {
  /** Stable ID per clause of the new version, in the order given. */
  ids: string[];
  /** How each ID was obtained. */
  kinds: MatchKind[];
  /** Stable IDs of the previous version that found no successor. */
  withdrawn: string[];
}

/** Labels are whitespace-insensitive names; case folds the `PAcked` typo away as the ID slug does. */
export function labelKey(label: string): string {
  return label.replace(/\s+/g, ' ').trim().toLowerCase();
}

/** Label keys of every section (primary and aliases) → all keys of that section, so an
 *  old label kept as an alias still counts as "the same label". */
export function aliasMap(sections: Section[]): Map<string, Set<string>> {
  const m = new Map<string, Set<string>>();
  for (const s of sections) {
    const keys = new Set([s.label, ...s.aliases].filter((l): l is string => !!l).map(labelKey));
    for (const k of keys) m.set(k, keys);
  }
  return m;
}

/** Word tokens, case kept (\w+): with these the fuzzy thresholds reproduce the §2.4
 *  stability figures; lower-casing or whitespace tokens each shift one match. */
export function tokens(text: string): string[] {
  return text.match(/\w+/g) ?? [];
}

/** Token similarity 2·M/(|a|+|b|), M = tokens in matching blocks found the way Python's
 *  difflib.SequenceMatcher does (longest block first, recursing left and right, "popular"
 *  tokens of long texts ignored): the ratio the §2.4 stability figures were measured with. */
export function tokenRatio(a: string[], b: string[]): number {
  if (a.length + b.length === 0) return 1;
  const b2j = new Map<string, number[]>();
  b.forEach((t, j) => (b2j.get(t) ?? b2j.set(t, []).get(t)!).push(j));
  if (b.length >= 200) {
    const limit = Math.floor(b.length / 100) + 1;
    for (const [t, js] of b2j) if (js.length > limit) b2j.delete(t);
  }
  const longest = (alo: number, ahi: number, blo: number, bhi: number): [number, number, number] => {
    let bi = alo, bj = blo, bk = 0;
    let j2len = new Map<number, number>();
    for (let i = alo; i < ahi; i++) {
      const next = new Map<number, number>();
      for (const j of b2j.get(a[i]) ?? []) {
        if (j < blo) continue;
        if (j >= bhi) break;
        const k = (j2len.get(j - 1) ?? 0) + 1;
        next.set(j, k);
        if (k > bk) { bi = i - k + 1; bj = j - k + 1; bk = k; }
      }
      j2len = next;
    }
    return [bi, bj, bk];
  };
  let matched = 0;
  const queue: [number, number, number, number][] = [[0, a.length, 0, b.length]];
  while (queue.length) {
    const [alo, ahi, blo, bhi] = queue.pop()!;
    const [i, j, k] = longest(alo, ahi, blo, bhi);
    if (!k) continue;
    matched += k;
    if (alo < i && blo < j) queue.push([alo, i, blo, j]);
    if (i + k < ahi && j + k < bhi) queue.push([i + k, ahi, j + k, bhi]);
  }
  return (2 * matched) / (a.length + b.length);
}

/** Upper bound of tokenRatio from the token multisets, to skip hopeless pairs cheaply. */
function bagBound(a: Map<string, number>, la: number, b: Map<string, number>, lb: number): number {
  let common = 0;
  for (const [t, c] of a) common += Math.min(c, b.get(t) ?? 0);
  return (2 * common) / (la + lb || 1);
}

function bag(ts: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of ts) m.set(t, (m.get(t) ?? 0) + 1);
  return m;
}

/** Appends ~k to a freshly minted ID that collides with one already used in the registry
 *  (e.g. an old clause's original text reappearing as a new clause). */
export function uniqueId(id: string, taken: Set<string>): string {
  if (!taken.has(id)) return id;
  const m = /^(.*?)(?:~(\d+))?$/.exec(id)!;
  for (let k = Number(m[2] ?? 1) + 1; ; k++) {
    const cand = `${m[1]}~${k}`;
    if (!taken.has(cand)) return cand;
  }
}

export interface StepOptions {
  prevSections?: Section[];
  nextSections?: Section[];
}

/**
 * One carry-forward step: give every clause of `next` a stable ID, reusing the IDs of
 * `prev` where the clause is the same one. `taken` holds every ID ever issued (it is
 * updated with newly minted ones). Deterministic: candidates are visited in document order.
 */
export function carryStep(prev: Tracked[], next: ExtractedClause[], taken: Set<string>, opts: StepOptions = {}): StepResult {
  const ids: (string | undefined)[] = new Array(next.length).fill(undefined);
  const kinds: MatchKind[] = new Array(next.length).fill('minted');
  const used = new Array<boolean>(prev.length).fill(false);
  const take = (j: number, i: number, kind: MatchKind) => {
    ids[j] = prev[i].id; kinds[j] = kind; used[i] = true;
  };

  // 1. Exact minted ID (or the stable ID itself: text that returned to its first wording).
  const byMinted = new Map<string, number>();
  prev.forEach((p, i) => byMinted.set(p.clause.mintedId, i));
  const byStable = new Map<string, number>();
  prev.forEach((p, i) => byStable.set(p.id, i));
  next.forEach((c, j) => {
    for (const m of [byMinted, byStable]) {
      const i = m.get(c.mintedId);
      if (i !== undefined && !used[i] && prev[i].clause.role === c.role) { take(j, i, 'exact'); return; }
    }
  });

  // 2. Same fingerprint (identical canonical text) under another label: moved.
  const byFp = new Map<string, number[]>();
  prev.forEach((p, i) => {
    if (used[i]) return;
    const k = `${p.clause.role} ${p.clause.fingerprint}`;
    (byFp.get(k) ?? byFp.set(k, []).get(k)!).push(i);
  });
  next.forEach((c, j) => {
    if (ids[j] !== undefined) return;
    const i = byFp.get(`${c.role} ${c.fingerprint}`)?.find((i) => !used[i]);
    if (i !== undefined) take(j, i, 'moved');
  });

  // 3. Fuzzy token match, best pairs first; needs text on both sides.
  const prevAliases = aliasMap(opts.prevSections ?? []);
  const nextAliases = aliasMap(opts.nextSections ?? []);
  const keysOf = (label: string, m: Map<string, Set<string>>) => m.get(labelKey(label)) ?? new Set([labelKey(label)]);
  const sameLabel = (a: ExtractedClause, b: ExtractedClause) => {
    const ka = keysOf(a.label, prevAliases);
    for (const k of keysOf(b.label, nextAliases)) if (ka.has(k)) return true;
    return false;
  };
  const po = prev.map((p, i) => ({ i, c: p.clause })).filter((x) => !used[x.i] && x.c.text !== undefined);
  const no = next.map((c, j) => ({ j, c })).filter((x) => ids[x.j] === undefined && x.c.text !== undefined);
  const pt = new Map(po.map((x) => { const t = tokens(x.c.text!); return [x.i, { t, b: bag(t) }] as const; }));
  const nt = new Map(no.map((x) => { const t = tokens(x.c.text!); return [x.j, { t, b: bag(t) }] as const; }));
  const pairs: { i: number; j: number; r: number; kind: MatchKind }[] = [];
  for (const p of po) {
    const a = pt.get(p.i)!;
    for (const n of no) {
      if (p.c.role !== n.c.role) continue;
      const same = sameLabel(p.c, n.c);
      const min = same ? SAME_LABEL_RATIO : CROSS_LABEL_RATIO;
      const b = nt.get(n.j)!;
      if (bagBound(a.b, a.t.length, b.b, b.t.length) < min) continue;
      const r = tokenRatio(a.t, b.t);
      if (r >= min) pairs.push({ i: p.i, j: n.j, r, kind: same ? 'fuzzy-label' : 'fuzzy-cross' });
    }
  }
  // Same-label matches first, then by ratio; ties in document order.
  pairs.sort((x, y) => (x.kind === y.kind ? 0 : x.kind === 'fuzzy-label' ? -1 : 1) || y.r - x.r || x.i - y.i || x.j - y.j);
  for (const p of pairs) if (!used[p.i] && ids[p.j] === undefined) take(p.j, p.i, p.kind);

  // 4. Mint the rest.
  next.forEach((c, j) => {
    if (ids[j] !== undefined) return;
    ids[j] = uniqueId(c.mintedId, taken);
    taken.add(ids[j]!);
  });
  for (const p of prev) taken.add(p.id);
  return { ids: ids as string[], kinds, withdrawn: prev.filter((_, i) => !used[i]).map((p) => p.id) };
}

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** A committed index row: the extracted clause without minted ID or text, keys in a fixed order. */
export function indexRow(id: string, c: ExtractedClause): IndexedClause {
  return {
    id, role: c.role, area: c.area, label: c.label, section: c.section, ordinal: c.ordinal,
    keywords: [...c.keywords], features: [...c.features], fingerprint: c.fingerprint, source: c.source,
  };
}

export function sectionRow(s: Section): Section {
  return { number: s.number, title: s.title, level: s.level, label: s.label, aliases: [...s.aliases], kind: s.kind, source: s.source };
}

export function toIndex(spec: ExtractedSpec, ids: string[]): ClauseIndex {
  return {
    spec: {
      version: spec.version,
      ...(spec.revision !== undefined ? { revision: spec.revision } : {}),
      ...(spec.revisionDate !== undefined ? { revisionDate: spec.revisionDate } : {}),
    },
    sections: spec.sections.map(sectionRow),
    clauses: spec.clauses.map((c, i) => indexRow(ids[i], c)),
  };
}

export interface BuildResult {
  registry: Registry;
  indexes: ClauseIndex[];
  /** Per version after the first: how the IDs were obtained (for the build log). */
  steps: { version: string; counts: Record<MatchKind, number>; withdrawn: number }[];
}

/** Carries IDs forward over `specs` (oldest first, extracted with text). */
export function buildRegistry(specs: ExtractedSpec[]): BuildResult {
  const entries = new Map<string, RegistryEntry>();
  const taken = new Set<string>();
  const indexes: ClauseIndex[] = [];
  const steps: BuildResult['steps'] = [];
  let prev: Tracked[] = [];
  let prevSpec: ExtractedSpec | undefined;
  const prevKeywords = new Map<string, string[]>();
  for (const spec of specs) {
    const v = spec.version;
    const step = carryStep(prev, spec.clauses, taken, { prevSections: prevSpec?.sections, nextSections: spec.sections });
    if (prevSpec) {
      const counts = { exact: 0, moved: 0, 'fuzzy-label': 0, 'fuzzy-cross': 0, minted: 0 } as Record<MatchKind, number>;
      for (const k of step.kinds) counts[k]++;
      steps.push({ version: v, counts, withdrawn: step.withdrawn.length });
    }
    const seen = new Set<string>();
    spec.clauses.forEach((c, j) => {
      const id = step.ids[j];
      if (seen.has(id)) throw new Error(`registry: ID ${id} issued twice in ${v}`);
      seen.add(id);
      let e = entries.get(id);
      if (!e) { e = { id, introducedIn: v, fingerprints: {} }; entries.set(id, e); }
      if (prevSpec && e.fingerprints[prevSpec.version] !== undefined) {
        if (e.fingerprints[prevSpec.version] !== c.fingerprint) (e.revisedIn ??= []).push(v);
        if (!sameList(prevKeywords.get(id) ?? [], c.keywords)) (e.keywordsChangedIn ??= []).push(v);
      }
      e.fingerprints[v] = c.fingerprint;
    });
    for (const id of step.withdrawn) entries.get(id)!.withdrawnIn = v;
    prevKeywords.clear();
    spec.clauses.forEach((c, j) => prevKeywords.set(step.ids[j], c.keywords));
    indexes.push(toIndex(spec, step.ids));
    prev = spec.clauses.map((clause, j) => ({ id: step.ids[j], clause }));
    prevSpec = spec;
  }
  const sorted = [...entries.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map(entryRow);
  return { registry: { versions: specs.map((s) => s.version), entries: sorted }, indexes, steps };
}

function entryRow(e: RegistryEntry): RegistryEntry {
  return {
    id: e.id, introducedIn: e.introducedIn,
    ...(e.revisedIn ? { revisedIn: e.revisedIn } : {}),
    ...(e.keywordsChangedIn ? { keywordsChangedIn: e.keywordsChangedIn } : {}),
    ...(e.withdrawnIn ? { withdrawnIn: e.withdrawnIn } : {}),
    fingerprints: e.fingerprints,
  };
}

/**
 * Stable IDs for a spec extracted at run time (`--spec-dir`), from a committed index:
 * same role, label and fingerprint (n-th occurrence ↔ n-th occurrence), then same role
 * and fingerprint under another label; anything else keeps its minted ID. No text is
 * needed, so edited clauses of an unknown version show their minted ID.
 */
export function attachStableIds(spec: ExtractedSpec, index: ClauseIndex | undefined): string[] {
  if (!index) return spec.clauses.map((c) => c.mintedId);
  const exact = new Map<string, IndexedClause[]>();
  const byFp = new Map<string, IndexedClause[]>();
  for (const r of index.clauses) {
    const k1 = `${r.role} ${labelKey(r.label)} ${r.fingerprint}`;
    (exact.get(k1) ?? exact.set(k1, []).get(k1)!).push(r);
    const k2 = `${r.role} ${r.fingerprint}`;
    (byFp.get(k2) ?? byFp.set(k2, []).get(k2)!).push(r);
  }
  const used = new Set<string>();
  const ids: (string | undefined)[] = spec.clauses.map((c) => {
    const r = exact.get(`${c.role} ${labelKey(c.label)} ${c.fingerprint}`)?.find((r) => !used.has(r.id));
    if (r) used.add(r.id);
    return r?.id;
  });
  spec.clauses.forEach((c, j) => {
    if (ids[j]) return;
    const r = byFp.get(`${c.role} ${c.fingerprint}`)?.find((r) => !used.has(r.id));
    if (r) { used.add(r.id); ids[j] = r.id; }
  });
  const taken = new Set([...index.clauses.map((r) => r.id), ...(ids.filter(Boolean) as string[])]);
  return spec.clauses.map((c, j) => ids[j] ?? (() => { const id = uniqueId(c.mintedId, taken); taken.add(id); return id; })());
}

/** Stable JSON: top-level keys pretty-printed, each element of a top-level array on one
 *  line (small, diff-friendly files), a trailing newline. */
export function formatJson(obj: object): string {
  const parts = Object.entries(obj).map(([k, v]) => {
    const key = JSON.stringify(k);
    if (Array.isArray(v) && v.length > 0 && typeof v[0] === 'object') {
      return `  ${key}: [\n${v.map((x) => `    ${JSON.stringify(x)}`).join(',\n')}\n  ]`;
    }
    return `  ${key}: ${JSON.stringify(v)}`;
  });
  return `{\n${parts.join(',\n')}\n}\n`;
}
