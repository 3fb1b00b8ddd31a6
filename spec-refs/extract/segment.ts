// Segmentation of a converted body into clauses (spec-extraction.md §2.2 steps 4–6):
// prose paragraphs split into sentences, a whole list item is one unit, keyword-less items
// attach to the nearest keyword-bearing lead-in, keyword-less paragraphs ending in ':'
// that precede no list scope the clauses after them, and a lower-case continuation right
// after a list is merged into the list's lead-in.
import type { Keyword } from '../types.ts';
import { CODE_CLOSE, CODE_OPEN, type Body, type Node, type Para } from './body.ts';
import { collapse } from './scan.ts';

export interface Unit {
  text: string;
  off: number;
  keywords: Keyword[];
  /** Raw spellings that were normalised ("MUST not", "MOST NOT"), with their offset. */
  variants: string[];
  /** Lead-in units, outermost first. */
  lead: Unit[];
  scope: string | null;
  /** Keyword-less list items attached to this unit. */
  attached: Unit[];
  item: boolean;
}

const KW = /(?<![A-Za-z0-9_])(MUST\s+NOT|MUST\s+not|MOST\s+NOT|MUST|SHALL\s+NOT|SHALL|SHOULD\s+NOT|SHOULD|NOT\s+RECOMMENDED|RECOMMENDED|REQUIRED|MAY|OPTIONAL)(?![A-Za-z0-9_])/g;
const CODE_SPAN = new RegExp(`${CODE_OPEN}\\d+${CODE_CLOSE}`, 'g');

/** Keyword occurrences in prose; code blocks are not prose (ASN.1 has an OPTIONAL token). */
export function keywordsOf(text: string): { keywords: Keyword[]; variants: string[] } {
  const keywords: Keyword[] = [];
  const variants: string[] = [];
  const prose = text.replace(CODE_SPAN, ' ');
  for (const m of prose.matchAll(KW)) {
    const raw = m[1].replace(/\s+/g, ' ');
    if (raw === 'MUST not' || raw === 'MOST NOT') { variants.push(raw); keywords.push('MUST NOT'); } else keywords.push(raw as Keyword);
  }
  return { keywords, variants };
}

const ABBREV = /(?:^|[^A-Za-z])(?:e\.g|i\.e|etc|vs|cf|viz|approx|resp|no|fig|Fig|Sec|sec)\.$/;

/** Split prose at [.?!] + whitespace + (upper-case | '[' | '(' | '\' | code), not after
 *  common abbreviations. Returns [start, end) pairs into `text`. */
export function splitSentences(text: string): [number, number][] {
  const out: [number, number][] = [];
  const re = new RegExp(`[.?!]\\s+(?=[A-Z\\[(\\\\${CODE_OPEN}])`, 'g');
  let start = 0;
  for (let m; (m = re.exec(text));) {
    const before = text.slice(Math.max(0, m.index - 8), m.index + 1);
    if (ABBREV.test(before)) continue;
    out.push([start, m.index + 1]);
    start = m.index + m[0].length;
  }
  if (start < text.length) out.push([start, text.length]);
  return out.filter(([a, b]) => text.slice(a, b).trim() !== '');
}

function offsetAt(p: Para, idx: number): number {
  // chunk granularity is enough for file:line (a chunk never spans a line break)
  let off = p.offs[0]?.[1] ?? 0;
  for (const [ti, so] of p.offs) { if (ti > idx) break; off = so; }
  return off;
}

function unit(text: string, off: number, lead: Unit[], scope: string | null, item: boolean): Unit {
  const { keywords, variants } = keywordsOf(text);
  return { text, off, keywords, variants, lead, scope, attached: [], item };
}

/** All units of a body, keyword-bearing or not, in document order. */
export function segment(body: Body): Unit[] {
  const units: Unit[] = [];
  let scope: string | null = null;

  const walk = (nodes: Node[], lead: Unit[]): void => {
    let last: Unit | null = null; // last sentence produced at this level
    let listLead: Unit | null = null; // lead-in of the list just closed
    for (let n = 0; n < nodes.length; n++) {
      const node = nodes[n];
      if (node.kind === 'para') {
        const text = node.text;
        let skip = 0;
        const prev = nodes[n - 1];
        if (listLead && prev?.kind === 'list' && !node.afterBreak && /^\s*[a-z]/.test(text)) {
          // the sentence continues after the list: merge its first sentence into the lead-in
          const first = splitSentences(text)[0];
          listLead.text += ' ' + text.slice(first[0], first[1]);
          const k = keywordsOf(listLead.text);
          listLead.keywords = k.keywords; listLead.variants = k.variants;
          skip = first[1];
        }
        listLead = null;
        const sentences = splitSentences(text).filter(([a]) => a >= skip);
        const isScope = lead.length === 0 && nodes[n + 1]?.kind !== 'list'
          && keywordsOf(text).keywords.length === 0 && /:\s*$/.test(text);
        if (isScope) { scope = collapse(text); last = null; continue; }
        for (const [a, b] of sentences) {
          const lead0 = text.slice(a, b).length - text.slice(a, b).trimStart().length;
          const u = unit(text.slice(a, b), offsetAt(node, a + lead0), lead, scope, false);
          units.push(u);
          last = u;
        }
      } else {
        const leadIn = nodes[n - 1]?.kind === 'para' ? last : null;
        const chain = leadIn ? [...lead, leadIn] : lead;
        for (const it of node.items) {
          const paras = it.nodes.filter((x): x is Para => x.kind === 'para');
          const text = paras.map((p) => p.text).join(' ');
          const u = unit(text, paras[0] ? offsetAt(paras[0], 0) : it.off, chain, scope, true);
          units.push(u);
          const sub = it.nodes.filter((x) => x.kind === 'list');
          if (sub.length) walk(it.nodes.filter((x) => x.kind === 'list'), [...chain, u]);
        }
        listLead = leadIn;
        last = null;
      }
    }
  };
  walk(body.nodes, []);

  // keyword-less items join the nearest keyword-bearing lead-in
  for (const u of units) {
    if (!u.item || u.keywords.length) continue;
    for (let k = u.lead.length - 1; k >= 0; k--) {
      if (u.lead[k].keywords.length) { u.lead[k].attached.push(u); break; }
    }
  }
  return units;
}

/** Text with code placeholders rendered as [code: …], whitespace collapsed. */
export function render(text: string, code: string[]): string {
  return collapse(text.replace(CODE_SPAN, (m) => ` [code: ${code[Number(m.slice(1, -1))]}] `));
}

/** Canonical clause text (spec-extraction.md §2.3): detexed, whitespace collapsed, trailing
 *  .;:, stripped, keyword-less attached items appended. */
export function canonical(u: Unit, code: string[]): string {
  let t = render(u.text, code);
  if (u.attached.length) t += ' ' + u.attached.map((a) => render(a.text, code)).join(' | ');
  return t.replace(/[\s.;:,]+$/, '');
}

/** The string that is hashed. The prototype that minted the published example IDs dropped
 *  every '*' from it ("$*$" hashes as "$$", spec-extraction.md §5.1, 4.1.4.3.1 ¶3) —
 *  presumably it marked \field{} as *x* and stripped the stars while unwrapping, i.e. before
 *  whitespace was collapsed, which is the order used here (no example can tell). */
export function hashForm(canonicalText: string): string {
  return collapse(canonicalText.replace(/\*/g, '')).replace(/[\s.;:,]+$/, '');
}
