// Extractor edge cases on small invented spec trees (no spec wording: every sentence here
// is made up for the test).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { extractSpec, SpecSyntaxError } from './index.ts';
import { areaOf, mintId } from './ids.ts';
import { splitSentences } from './segment.ts';

const root = mkdtempSync(join(tmpdir(), 'cts-extract-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

/** Writes a spec folder: files maps path → content; main.tex wraps `body` in chapters. */
function specDir(files: Record<string, string>): string {
  const dir = join(root, `s${n++}`);
  for (const [p, c] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), c);
  }
  return dir;
}
/** A body placed in chapter 2 "Basic Facilities of a Virtio Device" (chapter 1 is the intro). */
const withBody = (body: string, extra: Record<string, string> = {}) => specDir({
  'main.tex': '\\chapter{Introduction}\nIntro text.\n\\input{content.tex}\n',
  'content.tex': `\\chapter{Basic Facilities of a Virtio Device}\\label{sec:Basic Facilities of a Virtio Device}\n${body}\n`,
  ...extra,
});
const dev = (title: string, path: string) => `\\devicenormative{\\section}{${title}}{Basic Facilities of a Virtio Device / ${path}}\n`;
const drv = (title: string, path: string) => `\\drivernormative{\\section}{${title}}{Basic Facilities of a Virtio Device / ${path}}\n`;

describe('flattening and provenance', () => {
  it('follows \\input in order (with or without .tex) and reports file:line', () => {
    const dir = specDir({
      'main.tex': '\\chapter{Introduction}\n\\input{a}\n\\input{sub/b.tex}\n',
      'a.tex': '\\chapter{Basic Facilities of a Virtio Device}\n' + dev('Gadget', 'Gadget'),
      'sub/b.tex': '% a comment line\n\nThe device MUST blink.\n',
    });
    const x = extractSpec(dir);
    expect(x.clauses).toHaveLength(1);
    expect(x.clauses[0].source).toBe('sub/b.tex:3');
    expect(x.sections.map((s) => s.source)).toEqual(['main.tex:1', 'a.tex:1', 'a.tex:2']);
  });

  it('ignores % comments but not \\%', () => {
    const x = extractSpec(withBody(dev('Gadget', 'Gadget') + 'The device MUST accept 100\\% of frobs. % the device MUST NOT nap\n% The driver SHOULD wave.\n'));
    expect(x.clauses.map((c) => c.keywords)).toEqual([['MUST']]);
    expect(extractSpec(withBody(dev('Gadget', 'Gadget') + 'The device MUST accept 100\\% of frobs.'), { withText: true }).clauses[0].text)
      .toBe('The device MUST accept 100% of frobs');
  });

  it('keeps \\DIFaddtextcstwo text and drops \\DIFdeltextcstwo text (v1.0 latexdiff residue)', () => {
    const x = extractSpec(withBody(
      '\\section{\n\\DIFdeltextcstwo{Driver Requirements: Old Name}\n\\DIFaddtextcstwo{Device Requirements: New Name}\n}\n\\label{devicenormative:Basic Facilities of a Virtio Device / New Name}\n'
      + 'The device MUST \\DIFdeltextcstwo{never }\\DIFaddtextcstwo{always }glow.\n'), { withText: true });
    const s = x.sections.find((s) => s.number === '2.1')!;
    expect(s.title).toBe('Device Requirements: New Name');
    expect(s.kind).toBe('device');
    expect(x.clauses[0].text).toBe('The device MUST always glow');
  });

  it('ignores headings and keywords inside lstlisting but keeps the code in the clause', () => {
    const x = extractSpec(withBody(dev('Gadget', 'Gadget')
      + 'The device MUST satisfy:\n\\begin{lstlisting}\n\\section{not a heading}\nx >= y % MUST be kept\n\\end{lstlisting}\n'), { withText: true });
    expect(x.sections).toHaveLength(3);
    expect(x.clauses).toHaveLength(1);
    expect(x.clauses[0].keywords).toEqual(['MUST']);
    expect(x.clauses[0].text).toBe('The device MUST satisfy: [code: \\section{not a heading} x >= y % MUST be kept]');
  });
});

describe('headings and numbering', () => {
  it('numbers as LaTeX report with secnumdepth 5: skipped levels print 0, starred unnumbered, appendix lettered', () => {
    const x = extractSpec(specDir({
      'main.tex': [
        '\\chapter{Introduction}', '\\section{One}', '\\subsubsection{Skip}', '\\subparagraph{Deep}',
        '\\section*{Unnumbered}', '\\section[Short]{Long {\\field{title}}}', '\\paragraph{Jump}',
        '\\chapter{Two}', '\\subsection{Gap}', '\\appendix', '\\chapter[hdr.h]{hdr.h}', '\\section{In A}', '\\chapter*{Thanks}', '\\chapter{Log}',
      ].join('\n'),
    }));
    expect(x.sections.map((s) => `${s.number}|${s.title}|${s.level}`)).toEqual([
      '1|Introduction|0', '1.1|One|1', '1.1.0.1|Skip|3', '1.1.0.1.0.1|Deep|5',
      '|Unnumbered|1', '1.2|Long title|1', '1.2.0.0.1|Jump|4',
      '2|Two|0', '2.0.1|Gap|2', 'A|hdr.h|0', 'A.1|In A|1', '|Thanks|0', 'B|Log|0',
    ]);
    expect(x.lints.filter((l) => l.kind === 'skipped-level')).toHaveLength(4);
  });

  it('reads normative macros with whitespace between arguments and labels/aliases after headings', () => {
    const x = extractSpec(withBody(
      '\\drivernormative{\\subsection}{Sending Things} {Basic Facilities of a Virtio Device / Sending\n  Things}\n'
      + '\\label{drivernormative:Basic Facilities of a Virtio Device / Old  Sending}%old label for latexdiff\n'
      + 'The driver MUST send things.\n'
      + '\\conformance{\\section}{Driver Conformance}\\label{sec:Conformance / Driver Conformance}\n'));
    const s = x.sections.find((s) => s.kind === 'driver')!;
    expect(s).toMatchObject({
      number: '2.0.1', level: 2, title: 'Driver Requirements: Sending Things',
      label: 'drivernormative:Basic Facilities of a Virtio Device / Sending Things',
      aliases: ['drivernormative:Basic Facilities of a Virtio Device / Old Sending'],
    });
    expect(x.sections.at(-1)!.title).toBe('Clause 1: Driver Conformance');
    expect(x.clauses[0].mintedId).toMatch(/^drv\/core\/sending-things#[0-9a-f]{8}$/);
  });

  it('classifies a hand-written "Device Requirements:" heading with two labels as device, using the device label', () => {
    const x = extractSpec(withBody(
      '\\section{Device Requirements: Odd One}\n\\label{drivernormative:Basic Facilities of a Virtio Device / Odd\nOne}\n\\label{devicenormative:Basic Facilities of a Virtio Device / Odd One}\n\nA device SHOULD be odd.\n'));
    const s = x.sections[2];
    expect(s.kind).toBe('device');
    expect(s.label).toBe('drivernormative:Basic Facilities of a Virtio Device / Odd One');
    expect(s.aliases).toEqual(['devicenormative:Basic Facilities of a Virtio Device / Odd One']);
    expect(x.clauses[0]).toMatchObject({ role: 'dev', label: 'devicenormative:Basic Facilities of a Virtio Device / Odd One' });
  });

  it('classifies legacy headings by title (case-insensitive), inherited by children', () => {
    const x = extractSpec(withBody(
      '\\section{Legacy interface}\\label{sec:Basic Facilities of a Virtio Device / Legacy interface}\nTransitional devices MUST hum.\n'
      + '\\subsection{Details}\nThey MAY also buzz.\n\\section{Plain}\\label{sec:Basic Facilities of a Virtio Device / Plain}\nA device MAY sing.\n'
      + '\\section{Legacy Interfacing}\nNot legacy by title.\n'));
    expect(x.sections.map((s) => s.kind)).toEqual(['other', 'other', 'legacy', 'legacy', 'other', 'other']);
    expect(x.clauses.map((c) => `${c.role} ${c.mintedId.split('#')[0]}`)).toEqual([
      'leg leg/core/legacy-interface', 'leg leg/core/legacy-interface', 'inf inf/core/plain',
    ]);
    expect(x.lints.filter((l) => l.kind === 'keyword-outside-normative')).toHaveLength(1);
  });

  it('gives no leg/inf clauses in chapter 1, the conformance chapter or the appendices', () => {
    const x = extractSpec(specDir({
      'main.tex': '\\chapter{Introduction}\nThe reader MAY skip this.\n\\chapter{Conformance}\nA driver MUST conform to this.\n'
        + '\\appendix\n\\chapter{Extra}\nA new device SHOULD be nice.\n',
    }));
    expect(x.clauses).toEqual([]);
  });
});

describe('segmentation', () => {
  it('splits sentences, not after abbreviations or between digits, and finds wrapped keywords', () => {
    const x = extractSpec(withBody(dev('Gadget', 'Gadget')
      + 'The device MUST\n  NOT wobble, e.g. When tilted. Version 1.0 MAY apply. The device SHOULD\nNOT hop; it MAY skip.\n'));
    expect(x.clauses.map((c) => c.keywords)).toEqual([['MUST NOT'], ['MAY'], ['SHOULD NOT', 'MAY']]);
    expect(splitSentences('A b. C d? (E f.) G. [g] h. \\i j. i.e. K l.').length).toBe(5);
  });

  it("normalises 'MUST not' and 'MOST NOT' to MUST NOT and lints them", () => {
    const x = extractSpec(withBody(dev('Gadget', 'Gadget') + 'The device MUST not blink. The device MOST NOT blink twice.\n'));
    expect(x.clauses.map((c) => c.keywords)).toEqual([['MUST NOT'], ['MUST NOT']]);
    expect(x.lints.filter((l) => l.kind === 'noncanonical-keyword').map((l) => l.message.split(' ')[0] + ' ' + l.message.split(' ')[1]))
      .toEqual(["'MUST not'", "'MOST NOT'"].map((v) => v.split(' ')[0] + ' ' + v.split(' ')[1]));
  });

  it('keeps nested list lead-ins as a chain and attaches keyword-less items to a keyword-bearing lead-in', () => {
    const x = extractSpec(withBody(drv('Widgets', 'Widgets')
      + 'If VIRTIO_F_GADGET is not negotiated:\n\\begin{itemize}\n\\item The driver MUST ignore \\field{knob}.\n'
      + '\\item After the driver turns the knob:\n  \\begin{itemize}\n  \\item If \\field{dial} is 1, the driver SHOULD NOT wait.\n  \\end{itemize}\n\\end{itemize}\n\n'
      + 'The driver MUST do these steps:\n\\begin{enumerate}\n\\item Open the lid.\n\\item[Close] Shut it again.\n\\item Tap it. The driver MAY tap twice.\n\\end{enumerate}\n'), { withText: true });
    const c = x.clauses;
    expect(c.map((k) => k.ordinal)).toEqual([1, 2, 3, 4]);
    expect(c[1]).toMatchObject({ text: 'If dial is 1, the driver SHOULD NOT wait', lead: 'If VIRTIO_F_GADGET is not negotiated: › After the driver turns the knob:', features: ['VIRTIO_F_GADGET'] });
    expect(c[0].lead).toBe('If VIRTIO_F_GADGET is not negotiated:');
    expect(c[2].text).toBe('The driver MUST do these steps: Open the lid. | Close: Shut it again');
    expect(c[3]).toMatchObject({ text: 'Tap it. The driver MAY tap twice', keywords: ['MAY'] });
  });

  it('uses keyword-less paragraphs ending in ":" as scope for the clauses after them', () => {
    const x = extractSpec(withBody(dev('Gadget', 'Gadget')
      + 'For devices offering VIRTIO_GADGET_F_FAST:\n\nThe device MUST be fast.\n\nThe device MAY rest.\n\nFor other devices:\n\nThe device SHOULD be slow.\n'), { withText: true });
    expect(x.clauses.map((c) => [c.scope, c.features])).toEqual([
      ['For devices offering VIRTIO_GADGET_F_FAST:', ['VIRTIO_GADGET_F_FAST']],
      ['For devices offering VIRTIO_GADGET_F_FAST:', ['VIRTIO_GADGET_F_FAST']],
      ['For other devices:', []],
    ]);
  });

  it('merges a lower-case continuation after a list into the lead-in', () => {
    const x = extractSpec(withBody(dev('Gadget', 'Gadget')
      + 'If the flag is set and any of the following is true:\n\\begin{itemize}\n\\item the lid is open,\n\\item the dial is 0,\n\\end{itemize}\nthe device MUST NOT start. The device MAY beep.\n'), { withText: true });
    expect(x.clauses.map((c) => c.text)).toEqual([
      'If the flag is set and any of the following is true: the device MUST NOT start. the lid is open, | the dial is 0',
      'The device MAY beep',
    ]);
  });

  it('drops notes, footnotes and labels; unwraps \\field, \\emph and \\hyperref; keeps \\ref as [ref:label]; math verbatim', () => {
    const x = extractSpec(withBody(dev('Gadget', 'Gadget')
      + 'The device MUST set \\field{size}\\footnote{The driver MUST NOT care.} to $2^{n}$ as in \\ref{sec:Basic Facilities\n  of a Virtio Device} and {\\em really} \\emph{quickly}\\label{x:y} via \\hyperref[sec:Z]{the other section}.\n'
      + '\\begin{note}\nThe device SHOULD smile.\n\\end{note}\n'), { withText: true });
    expect(x.clauses).toHaveLength(1);
    expect(x.clauses[0].text).toBe('The device MUST set size to $2^{n}$ as in [ref:sec:Basic Facilities of a Virtio Device] and really quickly via the other section');
    expect(x.lints.filter((l) => l.kind === 'dangling-ref').map((l) => l.message)).toEqual(['\\ref to undefined label "sec:Z"']);
  });

  it('mints ~n suffixes for identical sentences in one section', () => {
    const x = extractSpec(withBody(dev('Gadget', 'Gadget') + 'The device MUST ping.\n\nThe device MUST ping.\n'));
    const [a, b] = x.clauses.map((c) => c.mintedId);
    expect(b).toBe(`${a}~2`);
  });

  it('lints normative sections without keywords and normative labels the conformance chapter never references', () => {
    const x = extractSpec(specDir({
      'main.tex': '\\chapter{Introduction}\n\\chapter{Basic Facilities of a Virtio Device}\n'
        + dev('A', 'A') + 'The device MUST a.\n' + dev('B', 'B') + 'Nothing normative here.\n'
        + '\\chapter{Conformance}\n\\begin{itemize}\n\\item \\ref{devicenormative:Basic Facilities of a Virtio Device / A}\n\\end{itemize}\n',
    }));
    expect(x.lints.filter((l) => l.kind === 'no-keywords').map((l) => l.source)).toEqual(['main.tex:5']);
    expect(x.lints.filter((l) => l.kind === 'unreferenced-normative-label').map((l) => l.message.split(' (')[0]))
      .toEqual(['devicenormative:Basic Facilities of a Virtio Device / B']);
    expect(x.lints.filter((l) => l.kind === 'dangling-ref')).toEqual([]);
  });
});

describe('IDs', () => {
  it('maps label prefixes to areas (spec-extraction.md §2.3)', () => {
    const a = (l: string) => { const r = areaOf(l); return `${r.area}:${r.rest.join('/')}`; };
    expect(a('devicenormative:Basic Facilities of a Virtio Device / Device groups / Group administration commands')).toBe('admin:Group administration commands');
    expect(a('sec:Basic Facilities of a Virtio Device / Virtqueues')).toBe('core:Virtqueues');
    expect(a('drivernormative:General Initialization And Device Operation / Device Initialization')).toBe('init:Device Initialization');
    expect(a('devicenormative:Virtio Transport Options / Virtio over channel I/O / Basic Concepts')).toBe('ccw:Basic Concepts');
    expect(a('devicenormative:Reserved Feature Bits')).toBe('reserved:');
    expect(a('devicenormative:Device Types / Socket Device / Device Operation')).toBe('vsock:Device Operation');
    expect(a('devicenormative:Device Types / Traditional Memory Balloon Device / X')).toBe('balloon:X');
    expect(a('devicenormative:Device Types / Memory Device / X')).toBe('mem:X');
    expect(mintId('drv', 'drivernormative:Basic Facilities of a Virtio Device / PAcked Virtqueues / The Ring (RSS) ', 'abcdef01'))
      .toBe('drv/core/packed-virtqueues/the-ring-rss#abcdef01');
    expect(mintId('dev', 'devicenormative:Reserved Feature Bits', '605018ce')).toBe('dev/reserved#605018ce');
  });
});

describe('errors', () => {
  it('names the folder when it or main.tex is missing', () => {
    expect(() => extractSpec(join(root, 'nope'))).toThrow(/nope: no such spec folder/);
    const empty = specDir({ 'x.tex': '' });
    expect(() => extractSpec(empty)).toThrow(/no main\.tex/);
  });

  it('names file:line for unbalanced braces, unterminated environments and missing \\input files', () => {
    expect(() => extractSpec(withBody('\\section{Broken\n\nText.\n'))).toThrow(SpecSyntaxError);
    expect(() => extractSpec(withBody('\\section{Broken\n\nText.\n'))).toThrow(/^content\.tex:2: unbalanced/);
    expect(() => extractSpec(withBody(dev('G', 'G') + 'The device MUST x.\n\\begin{note}\nnever closed\n'))).toThrow(/^content\.tex:4: unterminated note/);
    expect(() => extractSpec(withBody('\\begin{lstlisting}\nint x;\n'))).toThrow(/^content\.tex:2: unterminated lstlisting/);
    expect(() => extractSpec(specDir({ 'main.tex': '\\input{gone.tex}\n' }))).toThrow(/main\.tex:1: \\input of missing file gone\.tex/);
  });
});
