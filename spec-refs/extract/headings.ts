// Headings: the six sectioning commands (starred or not, optional [short] title), the
// \devicenormative / \drivernormative / \conformance macros (whitespace allowed between
// arguments) and \appendix. Numbers are computed as LaTeX's report class does with
// secnumdepth 5: every level numbered, a skipped level prints 0, chapters lettered after
// \appendix, starred headings unnumbered.
import type { SectionKind } from '../types.ts';
import type { Flat } from './flatten.ts';
import { SpecSyntaxError, collapse, readGroup, readOptional, skipWs } from './scan.ts';

export const LEVELS = ['chapter', 'section', 'subsection', 'subsubsection', 'paragraph', 'subparagraph'] as const;

export interface Heading {
  /** Offset of the command's backslash. */
  start: number;
  /** Offset after the heading and the labels that directly follow it (the body starts here). */
  bodyStart: number;
  level: number;
  starred: boolean;
  title: string;
  labels: string[];
  number: string;
  kind: SectionKind;
  /** For normative headings: the label that names the normative section (devicenormative:/drivernormative:). */
  normLabel: string | null;
  appendix: boolean;
  /** Index of the enclosing chapter heading. */
  chapter: number;
  /** Index of the parent heading (-1 at top level). */
  parent: number;
}

const HEAD = /\\(chapter|section|subsection|subsubsection|paragraph|subparagraph|devicenormative|drivernormative|conformance|appendix)(?![A-Za-z@])(\*?)/g;
const LEGACY = /^Legacy Interfaces?\b/i;

export function inCode(flat: Flat, off: number): boolean {
  let lo = 0, hi = flat.code.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [a, b] = flat.code[mid];
    if (off < a) hi = mid - 1; else if (off >= b) lo = mid + 1; else return true;
  }
  return false;
}

/** De-TeX a heading title or a short label-like string. */
export function detexTitle(s: string): string {
  return collapse(
    s.replace(/\\(label|footnote|index)\s*\{[^{}]*\}/g, '')
      .replace(/\\([_%&#${}])/g, '$1')
      .replace(/\\[A-Za-z@]+\*?\s*/g, '')
      .replace(/[{}]/g, '')
      .replace(/~/g, ' '),
  );
}

export function findHeadings(flat: Flat): Heading[] {
  const s = flat.text;
  const out: Heading[] = [];
  const c = [0, 0, 0, 0, 0, 0];
  let appendix = false;
  let clause = 0;
  const stack: { level: number; legacy: boolean; idx: number }[] = [];
  let chapter = -1;
  HEAD.lastIndex = 0;
  for (let m; (m = HEAD.exec(s));) {
    if (inCode(flat, m.index)) continue;
    const cmd = m[1];
    if (cmd === 'appendix') { appendix = true; c.fill(0); continue; }
    let level: number;
    let starred = m[2] === '*';
    let title: string;
    let end: number;
    const labels: string[] = [];
    let macro: string | null = null;
    if (cmd === 'devicenormative' || cmd === 'drivernormative' || cmd === 'conformance') {
      macro = cmd;
      const a1 = readGroup(s, m.index + m[0].length);
      const a2 = a1 && readGroup(s, a1.end);
      if (!a1 || !a2) throw new SpecSyntaxError(`\\${cmd} without its arguments`, m.index);
      const sub = /^\s*\\([a-z]+)(\*?)\s*$/.exec(a1.content);
      level = sub ? LEVELS.indexOf(sub[1] as typeof LEVELS[number]) : -1;
      if (level < 0) throw new SpecSyntaxError(`\\${cmd}: unknown sectioning command ${a1.content}`, m.index);
      starred = sub![2] === '*';
      if (cmd === 'conformance') {
        title = `Clause ${++clause}: ${a2.content}`;
        end = a2.end;
      } else {
        const a3 = readGroup(s, a2.end);
        if (!a3) throw new SpecSyntaxError(`\\${cmd} without its label argument`, m.index);
        title = `${cmd === 'devicenormative' ? 'Device' : 'Driver'} Requirements: ${a2.content}`;
        labels.push(`${cmd}:${collapse(a3.content)}`);
        end = a3.end;
      }
    } else {
      level = LEVELS.indexOf(cmd as typeof LEVELS[number]);
      const opt = readOptional(s, m.index + m[0].length);
      const g = readGroup(s, opt ? opt.end : m.index + m[0].length);
      if (!g) throw new SpecSyntaxError(`\\${cmd} without a title`, m.index);
      title = g.content;
      end = g.end;
    }
    // labels directly after the heading, separated only by whitespace
    for (;;) {
      const j = skipWs(s, end);
      if (!s.startsWith('\\label', j)) break;
      const g = readGroup(s, j + 6);
      if (!g) break;
      labels.push(collapse(g.content));
      end = g.end;
    }
    title = detexTitle(title);

    let number = '';
    if (!starred) {
      c[level]++;
      for (let k = level + 1; k < 6; k++) c[k] = 0;
      const parts = c.slice(0, level + 1).map(String);
      if (appendix) parts[0] = String.fromCharCode(64 + c[0]);
      number = parts.join('.');
    }

    while (stack.length && stack[stack.length - 1].level >= level) stack.pop();
    const parent = stack.length ? stack[stack.length - 1].idx : -1;
    const inheritedLegacy = stack.some((x) => x.legacy);
    const legacy = inheritedLegacy || LEGACY.test(title);

    let kind: SectionKind = 'other';
    let normLabel: string | null = null;
    const normTitle = /^(Device|Driver) Requirements:/.exec(title);
    const normLabels = labels.filter((l) => /^(device|driver)normative:/.test(l));
    if (macro === 'devicenormative' || macro === 'drivernormative') {
      kind = macro === 'devicenormative' ? 'device' : 'driver';
      normLabel = labels[0];
    } else if (normTitle || normLabels.length) {
      // hand-written normative heading (PCI "Non-transitional Device With Legacy Driver"):
      // the title decides the role; the label of that role names it
      kind = normTitle ? (normTitle[1] === 'Device' ? 'device' : 'driver')
        : (normLabels[0].startsWith('device') ? 'device' : 'driver');
      const prefix = kind === 'device' ? 'devicenormative:' : 'drivernormative:';
      normLabel = normLabels.find((l) => l.startsWith(prefix)) ?? normLabels[0] ?? labels[0] ?? null;
    } else if (legacy) kind = 'legacy';

    if (level === 0) chapter = out.length;
    stack.push({ level, legacy, idx: out.length });
    out.push({ start: m.index, bodyStart: end, level, starred, title, labels, number, kind, normLabel, appendix, chapter, parent });
    HEAD.lastIndex = end;
  }
  return out;
}
