// Brace-balanced scanning primitives over LaTeX source (chosen over a LaTeX parser library
// by measurement: see the figures in bench/spec-refs.ts).

/** Malformed TeX or a broken \input tree; `offset` is into the flattened text when known. */
export class SpecSyntaxError extends Error {
  constructor(message: string, public offset?: number) { super(message); this.name = 'SpecSyntaxError'; }
}

/** Index of the `}` (or `]`) that closes the group opened at `open`. Escaped braces are skipped. */
export function groupEnd(s: string, open: number): number {
  const o = s[open];
  const c = o === '[' ? ']' : '}';
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    const ch = s[i];
    if (ch === '\\') { i++; continue; }
    if (o === '[') {
      // optional args may hold braced groups containing ']'
      if (ch === '{') { i = groupEnd(s, i); continue; }
      if (ch === ']') return i;
      continue;
    }
    if (ch === o) depth++;
    else if (ch === c && --depth === 0) return i;
  }
  throw new SpecSyntaxError(`unbalanced '${o}'`, open);
}

export function skipWs(s: string, i: number): number {
  while (i < s.length && (s[i] === ' ' || s[i] === '\t' || s[i] === '\n' || s[i] === '\r')) i++;
  return i;
}

/** Reads `{…}` at `i` (after whitespace); returns content and the index after `}`. */
export function readGroup(s: string, i: number): { content: string; start: number; end: number } | null {
  const j = skipWs(s, i);
  if (s[j] !== '{') return null;
  const e = groupEnd(s, j);
  return { content: s.slice(j + 1, e), start: j + 1, end: e + 1 };
}

/** Reads an optional `[…]` at `i` (no whitespace skipped before it, as LaTeX allows little there). */
export function readOptional(s: string, i: number): { content: string; end: number } | null {
  const j = skipWs(s, i);
  if (s[j] !== '[') return null;
  const e = groupEnd(s, j);
  return { content: s.slice(j + 1, e), end: e + 1 };
}

export const collapse = (s: string): string => s.replace(/\s+/g, ' ').trim();
