// Version diff over two clause indexes whose IDs come from the same carry-forward
// (the committed registry, or carryStep between two extracted folders): clauses are the
// same clause exactly when their IDs are equal.
import type { ClauseIndex, IndexedClause, Keyword, Role } from './types.ts';

export interface ClauseRef {
  id: string;
  role: Role;
  area: string;
  label: string;
  section: string;
  ordinal: number;
  keywords: Keyword[];
}

export interface ChangedClause extends ClauseRef {
  fingerprint: { from: string; to: string };
  /** Present when the keyword list differs. */
  keywordsFrom?: Keyword[];
}

export interface MovedClause extends ClauseRef {
  labelFrom: string;
}

export interface RenumberedClause extends ClauseRef {
  sectionFrom: string;
  ordinalFrom: number;
}

export interface SpecDiff {
  from: string;
  to: string;
  counts: {
    from: number; to: number; unchanged: number;
    added: number; changed: number; keywordChanges: number; moved: number; renumbered: number; withdrawn: number;
  };
  added: ClauseRef[];
  changed: ChangedClause[];
  moved: MovedClause[];
  renumbered: RenumberedClause[];
  withdrawn: ClauseRef[];
}

const ref = (c: IndexedClause): ClauseRef => ({
  id: c.id, role: c.role, area: c.area, label: c.label, section: c.section, ordinal: c.ordinal, keywords: c.keywords,
});

const sameLabel = (a: string, b: string) => a.replace(/\s+/g, ' ').trim() === b.replace(/\s+/g, ' ').trim();
const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * added: ID only in `b`; withdrawn: only in `a`; changed: fingerprint differs (text
 * edited; keywordsFrom when the keyword list changed too); moved: label differs;
 * renumbered: section number or ordinal differs. A clause can be in several of changed,
 * moved and renumbered; "unchanged" counts IDs present in both with the same fingerprint
 * and label, whatever their numbering.
 */
export function diffIndexes(a: ClauseIndex, b: ClauseIndex): SpecDiff {
  const inA = new Map(a.clauses.map((c) => [c.id, c]));
  const inB = new Set(b.clauses.map((c) => c.id));
  const d: SpecDiff = {
    from: a.spec.version, to: b.spec.version,
    counts: { from: a.clauses.length, to: b.clauses.length, unchanged: 0, added: 0, changed: 0, keywordChanges: 0, moved: 0, renumbered: 0, withdrawn: 0 },
    added: [], changed: [], moved: [], renumbered: [], withdrawn: [],
  };
  for (const nb of b.clauses) {
    const na = inA.get(nb.id);
    if (!na) { d.added.push(ref(nb)); continue; }
    const changed = na.fingerprint !== nb.fingerprint;
    const moved = !sameLabel(na.label, nb.label);
    if (changed) {
      d.changed.push({
        ...ref(nb), fingerprint: { from: na.fingerprint, to: nb.fingerprint },
        ...(sameList(na.keywords, nb.keywords) ? {} : { keywordsFrom: na.keywords }),
      });
    }
    if (moved) d.moved.push({ ...ref(nb), labelFrom: na.label });
    if (na.section !== nb.section || na.ordinal !== nb.ordinal) {
      d.renumbered.push({ ...ref(nb), sectionFrom: na.section, ordinalFrom: na.ordinal });
    }
    if (!changed && !moved) d.counts.unchanged++;
  }
  for (const na of a.clauses) if (!inB.has(na.id)) d.withdrawn.push(ref(na));
  d.counts.added = d.added.length;
  d.counts.changed = d.changed.length;
  d.counts.keywordChanges = d.changed.filter((c) => c.keywordsFrom).length;
  d.counts.moved = d.moved.length;
  d.counts.renumbered = d.renumbered.length;
  d.counts.withdrawn = d.withdrawn.length;
  return d;
}

/** Restricts an index to some roles (the §2.4 stability figures count dev and drv only). */
export function onlyRoles(ix: ClauseIndex, roles: Role[]): ClauseIndex {
  return { ...ix, clauses: ix.clauses.filter((c) => roles.includes(c.role)) };
}
