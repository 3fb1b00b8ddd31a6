// Synthetic ExtractedSpec fixtures for the registry, diff and CLI tests. The sentences are
// invented placeholder text (never spec wording); only their shape matters.
import { createHash } from 'node:crypto';
import type { ExtractedClause, ExtractedSpec, Keyword, Role, Section } from './types.ts';

export interface ClauseSpec {
  role?: Role;
  area?: string;
  label: string;
  section?: string;
  text: string;
}

const slug = (label: string) => label.split('/').slice(1).map((p) => p.trim().toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')).join('/');
const KW = /(?<![A-Za-z0-9_])(MUST NOT|MUST|SHOULD NOT|SHOULD|MAY)(?![A-Za-z0-9_])/g;

/** Builds a spec: clauses get fingerprints from their text, ordinals per label, minted IDs. */
export function fakeSpec(version: string, clauses: ClauseSpec[]): ExtractedSpec {
  const ordinals = new Map<string, number>();
  const seen = new Map<string, number>();
  const out: ExtractedClause[] = clauses.map((c, i) => {
    const ordinal = (ordinals.get(c.label) ?? 0) + 1;
    ordinals.set(c.label, ordinal);
    const fingerprint = createHash('sha256').update(c.text).digest('hex').slice(0, 8);
    const role = c.role ?? 'dev';
    const area = c.area ?? 'core';
    let mintedId = `${role}/${area}/${slug(c.label)}#${fingerprint}`;
    const n = (seen.get(mintedId) ?? 0) + 1;
    seen.set(mintedId, n);
    if (n > 1) mintedId += `~${n}`;
    return {
      role, area, label: c.label, section: c.section ?? '1.1', ordinal,
      keywords: [...c.text.matchAll(KW)].map((m) => m[1] as Keyword),
      features: [...new Set(c.text.match(/VIRTIO_\w*F_\w+/g) ?? [])],
      fingerprint, source: `fake.tex:${i + 1}`, mintedId, text: c.text,
    };
  });
  const labels = [...new Set(clauses.map((c) => c.label))];
  const sections: Section[] = labels.map((label, i) => ({
    number: clauses.find((c) => c.label === label)!.section ?? '1.1', title: `Heading ${i + 1}`, level: 1,
    label, aliases: [], kind: 'device', source: `fake.tex:${100 + i}`,
  }));
  return { version, sections, clauses: out, lints: [] };
}
