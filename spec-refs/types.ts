// The clause index contract, shared by the extractor (spec-refs/extract/), the ID
// registry and version diff (spec-refs/registry.ts, spec-refs/diff.ts), the CLI and the
// runner. The committed index holds everything here except `text` (spec wording is
// never committed; it is read at run time from a spec folder given with --spec-dir).

export type Role = 'dev' | 'drv' | 'leg' | 'inf';
export type SectionKind = 'device' | 'driver' | 'legacy' | 'other';
export type Keyword =
  | 'MUST' | 'MUST NOT' | 'SHOULD' | 'SHOULD NOT' | 'MAY' | 'SHALL' | 'SHALL NOT'
  | 'REQUIRED' | 'RECOMMENDED' | 'NOT RECOMMENDED' | 'OPTIONAL';

/** `file:line` relative to the spec folder, e.g. `content.tex:60`. */
export type SourceRef = string;

export interface Section {
  /** As LaTeX prints it: "2.7.13", "4.1.4.11.0.1", "A" (appendix chapter), "" if unnumbered. */
  number: string;
  /** Heading title, de-TeXed, whitespace collapsed (a title is a label, not spec prose). */
  title: string;
  /** 0 = chapter … 5 = subparagraph. */
  level: number;
  /** Primary label (first \label after the heading), whitespace-collapsed; null if none. */
  label: string | null;
  /** Further labels directly after the heading (old labels kept "for latexdiff", the
   *  second label of the hand-written PCI section). */
  aliases: string[];
  kind: SectionKind;
  source: SourceRef;
}

/** One normative statement as extracted from one spec version (before ID assignment). */
export interface ExtractedClause {
  role: Role;
  /** core | init | reserved | pci | mmio | ccw | admin | net | blk | … (spec-extraction.md §2.3). */
  area: string;
  /** Label of the normative section that holds the clause (for leg/inf: the nearest
   *  labelled section). */
  label: string;
  /** Section number in this version. */
  section: string;
  /** 1-based position among the clauses of that section. */
  ordinal: number;
  /** Every keyword occurrence, in order ("MUST not"/"MOST NOT" already normalised). */
  keywords: Keyword[];
  /** VIRTIO_*_F_* names in the clause, its lead-in chain and its scope, de-duplicated. */
  features: string[];
  /** First 8 hex digits of SHA-256 over the canonical clause text (§2.3). */
  fingerprint: string;
  source: SourceRef;
  /** Minted ID for this version alone: <role>/<area>/<label-path-slug>#<fp8>[~n]. */
  mintedId: string;
  /** Only when extracted at run time: canonical text, and its context. Never committed. */
  text?: string;
  lead?: string;
  scope?: string;
}

export interface LintFinding {
  kind: 'noncanonical-keyword' | 'no-keywords' | 'unreferenced-normative-label'
    | 'dangling-ref' | 'keyword-outside-normative' | 'skipped-level';
  source: SourceRef;
  message: string;
}

export interface ExtractedSpec {
  /** Folder name, e.g. "v1.4-cs01". */
  version: string;
  /** Contents of REVISION / REVISION-DATE when present. */
  revision?: string;
  revisionDate?: string;
  sections: Section[];
  clauses: ExtractedClause[];
  lints: LintFinding[];
}

/** A clause in the committed per-version index: stable ID from the registry. */
export interface IndexedClause extends Omit<ExtractedClause, 'mintedId'> {
  /** Stable ID (may differ from this version's minted ID when the clause was revised). */
  id: string;
}

/** spec-refs/index/<version>.json */
export interface ClauseIndex {
  spec: { version: string; revision?: string; revisionDate?: string };
  sections: Section[];
  clauses: IndexedClause[];
}

/** spec-refs/registry.json: one entry per stable ID ever minted. */
export interface RegistryEntry {
  id: string;
  introducedIn: string;
  /** Versions in which the clause's fingerprint changed (edited text), oldest first. */
  revisedIn?: string[];
  /** Versions in which its keyword list changed. */
  keywordsChangedIn?: string[];
  /** First version that no longer has the clause. */
  withdrawnIn?: string;
  /** Fingerprint per version it appears in. */
  fingerprints: Record<string, string>;
}

export interface Registry {
  /** Versions in carry-forward order, oldest first. */
  versions: string[];
  entries: RegistryEntry[];
}
