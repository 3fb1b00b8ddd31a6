// The VIRTIO spec clause extractor: LaTeX source folder → ExtractedSpec (spec-refs/types.ts).
// Pipeline: flatten the \input tree (flatten.ts) → headings and LaTeX numbering
// (headings.ts) → each body to a paragraph/list tree (body.ts) → units and clauses
// (segment.ts) → IDs (ids.ts) and lints. Rules: ../shared/docs/spec-extraction.md §2.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { ExtractedClause, ExtractedSpec, LintFinding, Role, Section } from '../types.ts';
import { convertBody } from './body.ts';
import { flatten, sourceOf, type Flat } from './flatten.ts';
import { findHeadings, inCode, type Heading } from './headings.ts';
import { areaOf, fingerprint, mintId } from './ids.ts';
import { SpecSyntaxError, collapse, groupEnd } from './scan.ts';
import { canonical, hashForm, render, segment } from './segment.ts';

export { SpecSyntaxError } from './scan.ts';

export interface ExtractOptions {
  /** Include canonical text, lead-in chain and scope in each clause (run time only). */
  withText?: boolean;
}

const FEATURE = /\bVIRTIO_(?:[A-Z0-9]+_)?F_[A-Z0-9_]*[A-Z0-9]/g;

export function extractSpec(dir: string, opts: ExtractOptions = {}): ExtractedSpec {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new SpecSyntaxError(`${dir}: no such spec folder`);
  if (!existsSync(join(dir, 'main.tex'))) throw new SpecSyntaxError(`${dir}: no main.tex (not a VIRTIO spec source folder)`);
  let flat: Flat | undefined;
  try {
    flat = flatten(dir);
    return extractFlat(dir, flat, opts);
  } catch (e) {
    if (e instanceof SpecSyntaxError && e.offset !== undefined && flat) {
      throw new SpecSyntaxError(`${sourceOf(flat, e.offset)}: ${e.message}`);
    }
    throw e;
  }
}

function readOpt(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, 'utf8').trim() || undefined : undefined;
}

function extractFlat(dir: string, flat: Flat, opts: ExtractOptions): ExtractedSpec {
  const heads = findHeadings(flat);
  const src = (off: number) => sourceOf(flat, off);
  const sections: Section[] = heads.map((h) => ({
    number: h.number,
    title: h.title,
    level: h.level,
    label: h.labels[0] ?? null,
    aliases: h.labels.slice(1),
    kind: h.kind,
    source: src(h.start),
  }));

  const confChapter = heads.findIndex((h) => h.level === 0 && /^Conformance$/i.test(h.title));
  // leg/inf exclude the front matter and chapter 1 (RFC 2119 definitions, terminology)
  const introChapter = heads.findIndex((h) => h.level === 0 && !h.starred);
  const clauses: ExtractedClause[] = [];
  const lints: LintFinding[] = [];
  const used = new Map<string, number>();
  const confRefs = new Set<string>();

  for (let i = 0; i < heads.length; i++) {
    const h = heads[i];
    const end = i + 1 < heads.length ? heads[i + 1].start : flat.text.length;
    const body = convertBody(flat.text, 0, h.bodyStart, end);
    const inConformance = confChapter >= 0 && h.chapter === confChapter;
    if (inConformance) for (const r of body.refs) confRefs.add(r.label);

    const role = roleOf(h, inConformance || h.chapter <= introChapter);
    if (!role) continue;
    const label = role === 'dev' || role === 'drv' ? h.normLabel! : nearestLabel(heads, i);
    const units = segment(body);
    let ordinal = 0;
    let kwCount = 0;
    for (const u of units) {
      if (!u.keywords.length) continue;
      kwCount += u.keywords.length;
      const text = canonical(u, body.code);
      const fp = fingerprint(hashForm(text));
      let id = mintId(role, label, fp);
      const n = (used.get(id) ?? 0) + 1;
      used.set(id, n);
      if (n > 1) id += `~${n}`;
      const lead = u.lead.map((l) => render(l.text, body.code)).join(' › ');
      const features: string[] = [];
      for (const t of [text, lead, u.scope ?? '']) {
        for (const m of t.matchAll(FEATURE)) if (!features.includes(m[0])) features.push(m[0]);
      }
      const c: ExtractedClause = {
        role,
        area: areaOf(label).area,
        label,
        section: h.number,
        ordinal: ++ordinal,
        keywords: u.keywords,
        features,
        fingerprint: fp,
        source: src(u.off),
        mintedId: id,
      };
      if (opts.withText) {
        c.text = text;
        if (lead) c.lead = lead;
        if (u.scope) c.scope = u.scope;
      }
      clauses.push(c);
      for (const v of u.variants) {
        lints.push({ kind: 'noncanonical-keyword', source: c.source, message: `'${v}' read as MUST NOT (${role} §${h.number} ¶${c.ordinal})` });
      }
      if (role === 'inf') {
        lints.push({ kind: 'keyword-outside-normative', source: c.source, message: `${u.keywords.join('/')} outside a normative section (§${h.number} ¶${c.ordinal}, ${label})` });
      }
    }
    if ((role === 'dev' || role === 'drv') && kwCount === 0) {
      lints.push({ kind: 'no-keywords', source: src(h.start), message: `normative section §${h.number} has no keywords (${h.normLabel})` });
    }
  }

  lints.push(...labelLints(flat, heads, confRefs));
  for (const h of heads) {
    if (/(^|\.)0(\.|$)/.test(h.number)) {
      lints.push({ kind: 'skipped-level', source: src(h.start), message: `§${h.number} "${h.title}" skips a heading level` });
    }
  }

  return {
    version: basename(dir.replace(/\/+$/, '')),
    revision: readOpt(join(dir, 'REVISION')),
    revisionDate: readOpt(join(dir, 'REVISION-DATE')),
    sections,
    clauses,
    lints,
  };
}

/** dev/drv for normative sections, leg for legacy ones, inf for keyword text elsewhere —
 *  except in `excluded` chapters (introduction, conformance) and the appendices. */
function roleOf(h: Heading, excluded: boolean): Role | null {
  if (h.kind === 'device') return 'dev';
  if (h.kind === 'driver') return 'drv';
  if (excluded || h.appendix) return null;
  return h.kind === 'legacy' ? 'leg' : 'inf';
}

function nearestLabel(heads: Heading[], i: number): string {
  for (let k = i; k >= 0; k = heads[k].parent) if (heads[k].labels.length) return heads[k].labels[0];
  return `sec:${heads[i].title}`;
}

/** Normative labels never referenced from the conformance chapter; refs to labels that do not exist. */
function labelLints(flat: Flat, heads: Heading[], confRefs: Set<string>): LintFinding[] {
  const out: LintFinding[] = [];
  const s = flat.text;
  const defined = new Set<string>();
  for (const h of heads) for (const l of h.labels) defined.add(l);
  const refs: { label: string; off: number }[] = [];
  const re = /\\(label|ref|nameref|autoref|pageref|hyperref)\s*([{[])/g;
  for (let m; (m = re.exec(s));) {
    if (inCode(flat, m.index)) continue;
    const open = m.index + m[0].length - 1;
    const close = groupEnd(s, open);
    const label = collapse(s.slice(open + 1, close));
    if (m[1] === 'label') defined.add(label); else refs.push({ label, off: m.index });
    re.lastIndex = close + 1;
  }
  // lstlisting blocks define labels in their options: \begin{lstlisting}[label={lst:…}]
  for (const [a] of flat.code) {
    const m = /^\\begin\{lstlisting\}\s*\[[^\n]*?label=\{?([^},\]]+)/.exec(s.slice(a, a + 400));
    if (m) defined.add(collapse(m[1]));
  }
  for (const r of refs) {
    if (!defined.has(r.label)) out.push({ kind: 'dangling-ref', source: sourceOf(flat, r.off), message: `\\ref to undefined label "${r.label}"` });
  }
  for (const h of heads) {
    for (const l of h.labels) {
      if (/^(device|driver)normative:/.test(l) && !confRefs.has(l)) {
        out.push({ kind: 'unreferenced-normative-label', source: sourceOf(flat, h.start), message: `${l} (§${h.number}) is not referenced from the conformance chapter` });
      }
    }
  }
  return out;
}
