// Flattens the \input tree from main.tex into one string in document order, keeping a
// line → file:line map. Comments are blanked (not removed, so offsets stay stable),
// lstlisting bodies are kept verbatim but reported as masked ranges, and v1.0's latexdiff
// residue is resolved in place (\DIFaddtextcstwo{x} → x, \DIFdeltextcstwo{x} → nothing).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SpecSyntaxError, groupEnd } from './scan.ts';

export interface Flat {
  text: string;
  /** Offset of each flattened line's first character. */
  lineStarts: number[];
  /** Provenance of each flattened line. */
  lineRefs: { file: string; line: number }[];
  /** [start, end) of every lstlisting block (\begin … \end inclusive). */
  code: [number, number][];
}

const INPUT = /\\input\s*\{([^}]*)\}/;

/** Strip an unescaped % comment, keeping the line's length (so columns stay put). */
function stripComment(line: string): string {
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '\\') { i++; continue; }
    if (line[i] === '%') return line.slice(0, i);
  }
  return line;
}

export function flatten(dir: string, root = 'main.tex'): Flat {
  const lines: string[] = [];
  const refs: { file: string; line: number }[] = [];
  const stack: string[] = [];

  const visit = (file: string, from: string): void => {
    const path = join(dir, file);
    if (!existsSync(path)) throw new SpecSyntaxError(`${from}: \\input of missing file ${file}`);
    if (stack.includes(file)) throw new SpecSyntaxError(`${file}: \\input cycle (${stack.join(' → ')})`);
    stack.push(file);
    const src = readFileSync(path, 'utf8').replace(/\r\n?/g, '\n').split('\n');
    let inCode = false;
    for (let i = 0; i < src.length; i++) {
      const raw = src[i];
      if (inCode) {
        lines.push(raw); refs.push({ file, line: i + 1 });
        if (/\\end\{lstlisting\}/.test(raw)) inCode = false;
        continue;
      }
      let line = stripComment(raw);
      const beginCode = line.indexOf('\\begin{lstlisting}');
      if (beginCode >= 0 && !/\\end\{lstlisting\}/.test(raw.slice(beginCode))) inCode = true;
      const m = beginCode < 0 ? INPUT.exec(line) : null;
      if (m) {
        let name = m[1].trim();
        if (!name.endsWith('.tex') && !existsSync(join(dir, name))) name += '.tex';
        lines.push(line.slice(0, m.index)); refs.push({ file, line: i + 1 });
        visit(name, `${file}:${i + 1}`);
        line = line.slice(m.index + m[0].length);
      }
      lines.push(line); refs.push({ file, line: i + 1 });
    }
    stack.pop();
  };
  visit(root, root);

  let text = lines.join('\n');
  const lineStarts: number[] = new Array(lines.length);
  for (let i = 0, off = 0; i < lines.length; i++) { lineStarts[i] = off; off += lines[i].length + 1; }

  const flat: Flat = { text, lineStarts, lineRefs: refs, code: [] };
  try {
    flat.text = text = resolveLatexdiff(text);
    const re = /\\begin\{lstlisting\}/g;
    for (let m; (m = re.exec(text));) {
      const end = text.indexOf('\\end{lstlisting}', m.index);
      if (end < 0) throw new SpecSyntaxError('unterminated lstlisting', m.index);
      const stop = end + '\\end{lstlisting}'.length;
      flat.code.push([m.index, stop]);
      re.lastIndex = stop;
    }
  } catch (e) {
    if (e instanceof SpecSyntaxError && e.offset !== undefined) throw new SpecSyntaxError(`${sourceOf(flat, e.offset)}: ${e.message}`);
    throw e;
  }
  return flat;
}

/** Replace latexdiff residue by spaces of the same length (offsets stay valid). */
function resolveLatexdiff(text: string): string {
  if (!text.includes('\\DIF')) return text;
  const re = /\\DIF(add|del)textcstwo\s*\{/g;
  let out = '';
  let last = 0;
  for (let m; (m = re.exec(text));) {
    const open = m.index + m[0].length - 1;
    const close = groupEnd(text, open);
    const blank = (s: string) => s.replace(/[^\n]/g, ' ');
    out += text.slice(last, m.index);
    if (m[1] === 'add') out += blank(m[0]) + text.slice(open + 1, close) + ' ';
    else out += blank(text.slice(m.index, close + 1));
    last = close + 1;
    re.lastIndex = last;
  }
  return out + text.slice(last);
}

/** file:line of an offset in the flattened text. */
export function sourceOf(flat: Flat, offset: number): string {
  let lo = 0, hi = flat.lineStarts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (flat.lineStarts[mid] <= offset) lo = mid; else hi = mid - 1;
  }
  const r = flat.lineRefs[lo];
  return `${r.file}:${r.line}`;
}
