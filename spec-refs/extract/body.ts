// Converts a section body to a tree of paragraphs and lists (spec-extraction.md §2.2 step 3):
// notes, footnotes and labels dropped; \field{x} → x; \ref{L} → [ref:L]; \hyperref[L]{t} → t;
// emphasis unwrapped; lstlisting kept as a code placeholder; \item[x] → "x:"; math verbatim.
import { SpecSyntaxError, collapse, groupEnd, readGroup, readOptional } from './scan.ts';

/** Code blocks are held out of the prose as CODE_OPEN n CODE_CLOSE so that sentence
 *  splitting and keyword detection never look inside them. */
export const CODE_OPEN = '\uE000';
export const CODE_CLOSE = '\uE001';

export interface Para {
  kind: 'para';
  text: string;
  /** [index into text, source offset] at each chunk start, ascending. */
  offs: [number, number][];
  /** A blank line separates this paragraph from the node before it. */
  afterBreak: boolean;
}
export interface Item { marker: string | null; nodes: Node[]; off: number }
export interface List { kind: 'list'; env: string; items: Item[]; afterBreak: boolean }
export type Node = Para | List;

export interface Body { nodes: Node[]; code: string[]; refs: { label: string; off: number }[] }

const LISTS = new Set(['itemize', 'itemize*', 'enumerate', 'enumerate*', 'description', 'description*']);
const TABLES = new Set(['tabular', 'tabular*', 'tabularx', 'longtable']);
const DROP_ENVS = new Set(['note', 'figure']);
const UNWRAP = new Set(['field', 'emph', 'textit', 'textbf', 'texttt', 'textsc', 'textsl', 'underline', 'mbox', 'hbox', 'textrm', 'textsf', 'url', 'path', 'text']);
const DROP_WITH_ARG = new Set(['label', 'footnote', 'footnotetext', 'index', 'vspace', 'hspace', 'caption', 'includegraphics', 'cline', 'lstset', 'lstinputlisting']);
/** Commands whose first N braced arguments are dropped (the last one, if any, is text). */
const DROP_ARGS: Record<string, number> = { setlength: 2, addtocounter: 2, setcounter: 2, multirow: 2, textcolor: 1, color: 1 };
const ESC: Record<string, string> = { _: '_', '%': '%', '&': '&', '#': '#', $: '$', '{': '{', '}': '}', ' ': ' ', ',': ' ', '\\': ' ' };

/** Tokens emitted while scanning; folded into the tree by build(). */
type Tok =
  | { t: 'text'; s: string; off: number }
  | { t: 'par' }
  | { t: 'begin'; env: string; off: number }
  | { t: 'end' }
  | { t: 'item'; marker: string | null; off: number };

export function convertBody(src: string, base: number, lo: number, hi: number): Body {
  const toks: Tok[] = [];
  const code: string[] = [];
  const refs: { label: string; off: number }[] = [];
  const emit = (s: string, off: number) => {
    toks.push({ t: 'text', s, off: base + off });
  };
  scan(src, lo, hi);
  return { nodes: build(toks), code, refs };

  function scan(s: string, i: number, end: number): void {
    let run = i; // start of pending plain text
    const flush = (to: number) => { if (to > run) emit(s.slice(run, to).replace(/~/g, ' ').replace(/``|''/g, '"'), run); };
    while (i < end) {
      const ch = s[i];
      if (ch === '\\') {
        flush(i);
        i = command(s, i, end);
        run = i;
      } else if (ch === '$') {
        // inline math, verbatim
        let j = i + 1;
        while (j < end && s[j] !== '$') j += s[j] === '\\' ? 2 : 1;
        flush(i);
        emit(s.slice(i, Math.min(j + 1, end)), i);
        i = run = j + 1;
      } else if (ch === '{' || ch === '}') {
        flush(i);
        i = run = i + 1;
      } else if (ch === '\n') {
        let j = i + 1;
        let nl = 1;
        while (j < end && /\s/.test(s[j])) { if (s[j] === '\n') nl++; j++; }
        flush(i);
        if (nl >= 2) toks.push({ t: 'par' }); else emit(' ', i);
        i = run = j;
      } else if (ch === '&' ) {
        flush(i); emit(' ', i); i = run = i + 1;
      } else i++;
    }
    flush(i);
  }

  /** Handles the command at s[i] === '\\'; returns the index after it. */
  function command(s: string, i: number, end: number): number {
    const nm = /^\\([A-Za-z@]+\*?|.)/.exec(s.slice(i, i + 40));
    if (!nm) return i + 1;
    const name = nm[1];
    let j = i + nm[0].length;
    if (name.length === 1 && !/[A-Za-z]/.test(name)) {
      if (name in ESC) emit(ESC[name], i);
      return j;
    }
    if (name === 'begin' || name === 'end') {
      const g = readGroup(s, j);
      if (!g) throw new SpecSyntaxError(`\\${name} without environment name`, base + i);
      const env = g.content.trim();
      j = g.end;
      if (name === 'end') {
        if (LISTS.has(env)) toks.push({ t: 'end' });
        return j;
      }
      if (DROP_ENVS.has(env) || env === 'lstlisting') {
        const close = envEnd(s, j, env);
        if (env === 'lstlisting') {
          let bodyStart = j;
          const opt = /^[ \t]*\[/.test(s.slice(j, j + 20)) ? readOptional(s, j) : null;
          if (opt) bodyStart = opt.end;
          code.push(collapse(s.slice(bodyStart, close)));
          emit(` ${CODE_OPEN}${code.length - 1}${CODE_CLOSE} `, i);
        }
        return close + `\\end{${env}}`.length;
      }
      if (LISTS.has(env)) {
        toks.push({ t: 'begin', env, off: base + i });
        const opt = readOptional(s, j);
        return opt && /^[^\n]*$/.test(s.slice(j, opt.end)) ? opt.end : j;
      }
      if (TABLES.has(env)) {
        // drop the width / column-spec arguments; the cells are flattened into prose
        if (env === 'tabularx' || env === 'tabular*') { const w = readGroup(s, j); if (w) j = w.end; }
        const opt = readOptional(s, j);
        if (opt && env === 'longtable') j = opt.end;
        const spec = readGroup(s, j);
        return spec ? spec.end : j;
      }
      return j;
    }
    if (name === 'item') {
      const opt = /^\s*\[/.test(s.slice(j, j + 10)) ? readOptional(s, j) : null;
      toks.push({ t: 'item', marker: opt ? opt.content : null, off: base + i });
      if (opt) {
        // the marker text is converted like prose, then followed by ':'
        scan(s, s.indexOf('[', j) + 1, opt.end - 1);
        emit(': ', opt.end);
        return opt.end;
      }
      return j;
    }
    if (DROP_WITH_ARG.has(name.replace(/\*$/, ''))) {
      const o = /^\s*\[/.test(s.slice(j, j + 10)) && name !== 'footnote' ? readOptional(s, j) : null;
      const g = readGroup(s, o ? o.end : j);
      return g ? g.end : j;
    }
    if (name in DROP_ARGS) {
      for (let k = 0; k < DROP_ARGS[name]; k++) { const g = readGroup(s, j); if (g) j = g.end; }
      return j;
    }
    if (name === 'ref' || name === 'nameref' || name === 'autoref' || name === 'pageref') {
      const g = readGroup(s, j);
      if (!g) return j;
      const label = collapse(g.content);
      refs.push({ label, off: base + i });
      emit(`[ref:${label}]`, i);
      return g.end;
    }
    if (name === 'hyperref') {
      const opt = readOptional(s, j);
      if (opt) refs.push({ label: collapse(opt.content), off: base + i });
      const g = readGroup(s, opt ? opt.end : j);
      if (!g) return opt ? opt.end : j;
      scan(s, g.start, g.end - 1);
      return g.end;
    }
    if (name === 'href') {
      const u = readGroup(s, j);
      const g = u && readGroup(s, u.end);
      if (!g) return u ? u.end : j;
      scan(s, g.start, g.end - 1);
      return g.end;
    }
    if (UNWRAP.has(name)) {
      const g = readGroup(s, j);
      if (!g) return j;
      scan(s, g.start, g.end - 1);
      return g.end;
    }
    if (name === 'ldots' || name === 'dots') { emit('...', i); return skipSpace(s, j); }
    if (name === 'newline' || name === 'linebreak' || name === 'par' || name === 'hline' || name === 'hfill') { emit(' ', i); return j; }
    if (name === 'textbackslash') { emit('\\', i); return skipSpace(s, j); }
    // any other command (\em, \noindent, \newpage, \centering …): drop the name, keep its
    // braced arguments as text (braces are dropped by the scanner)
    return skipSpace(s, j);
  }

  function skipSpace(s: string, j: number): number {
    while (s[j] === ' ' || s[j] === '\t') j++;
    return j;
  }

  function envEnd(s: string, from: number, env: string): number {
    const open = `\\begin{${env}}`;
    const close = `\\end{${env}}`;
    let depth = 1;
    let i = from;
    for (;;) {
      const c = s.indexOf(close, i);
      if (c < 0) throw new SpecSyntaxError(`unterminated ${env} environment`, base + from);
      const o = s.indexOf(open, i);
      if (o >= 0 && o < c) { depth++; i = o + open.length; continue; }
      if (--depth === 0) return c;
      i = c + close.length;
    }
  }
}

function build(toks: Tok[]): Node[] {
  const root: Node[] = [];
  const stack: { list: List | null; nodes: Node[] }[] = [{ list: null, nodes: root }];
  let para: Para | null = null;
  let sawBreak = false;
  const top = () => stack[stack.length - 1];
  const flush = () => {
    if (para && para.text.trim()) top().nodes.push(para);
    if (para && para.text.trim()) sawBreak = false;
    para = null;
  };
  for (const k of toks) {
    if (k.t === 'text') {
      if (!para) {
        if (!k.s.trim()) continue;
        para = { kind: 'para', text: '', offs: [], afterBreak: sawBreak };
      }
      para.offs.push([para.text.length, k.off]);
      para.text += k.s;
    } else if (k.t === 'par') {
      flush();
      sawBreak = true;
    } else if (k.t === 'begin') {
      flush();
      const list: List = { kind: 'list', env: k.env, items: [], afterBreak: sawBreak };
      top().nodes.push(list);
      sawBreak = false;
      stack.push({ list, nodes: [] });
    } else if (k.t === 'item') {
      flush();
      const fr = top();
      if (!fr.list) continue; // \item outside a list: ignore
      const item: Item = { marker: k.marker, nodes: [], off: k.off };
      fr.list.items.push(item);
      fr.nodes = item.nodes;
      sawBreak = false;
    } else {
      flush();
      if (stack.length > 1) stack.pop();
      sawBreak = false;
    }
  }
  flush();
  return root;
}
