// report.html: one self-contained page (inline CSS and JS, no network) for a person:
// summary and filters, failures first with clause / expected / observed, then the
// clause × scenario matrix grouped by area (columns = device/transport combinations),
// then every scenario. Clause text and the OASIS notice only when the run had --spec-dir.
import { compareSections } from './aggregate.ts';
import { SEVERITY, VERDICTS, type Verdict } from './verdict.ts';
import type { Results, ResultsClause, ResultsScenario } from './results.ts';
import type { SpecText } from './spec-text.ts';

/** A shell word that pastes back as the same argument. */
const shellQuote = (a: string): string => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
const esc = (s: unknown): string => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const NOT_OK: readonly Verdict[] = ['FAIL', 'WEDGED', 'ERROR', 'WARN', 'INCONCLUSIVE'];

function badge(v: Verdict): string {
  return `<span class="badge v-${v}">${v === 'NOT_APPLICABLE' ? 'N/A' : v}</span>`;
}

/** Label without the "devicenormative:" prefix the index keeps from the LaTeX label. */
function shortLabel(label: string | null): string {
  return (label ?? '').replace(/^[a-z]+normative:/, '');
}

function clauseRef(c: ResultsClause | undefined, id: string): string {
  if (!c || c.section === null) return `<code>${esc(id)}</code>`;
  return `<code>${esc(id)}</code> <span class="sec">§${esc(c.section)} ¶${esc(c.ordinal)}${c.keywords.length ? ` · ${esc(c.keywords.join('/'))}` : ''}</span>`;
}

/** Evidence the steps attached, folded away. */
function evidence(s: ResultsScenario): string {
  if (!s.evidence.length) return '';
  return `<details class="evidence"><summary>evidence (${s.evidence.length})</summary>${s.evidence.map((e) => `<div><b>${esc(e.label)}</b><pre>${esc(e.body)}</pre></div>`).join('')}</details>`;
}

/** Areas with failures first, then in document order (by their first section number). */
function areaOrder(cs: ResultsClause[]): string[] {
  const info = new Map<string, { sev: number; sec: string }>();
  for (const c of cs) {
    const cur = info.get(c.area) ?? { sev: SEVERITY.length, sec: '' };
    cur.sev = Math.min(cur.sev, SEVERITY.indexOf(c.verdict));
    if (c.section && (!cur.sec || compareSections(c.section, cur.sec) < 0)) cur.sec = c.section;
    info.set(c.area, cur);
  }
  const bad = (a: string): number => (NOT_OK.includes(SEVERITY[info.get(a)!.sev]) ? 0 : 1);
  return [...info.keys()].sort((a, b) => bad(a) - bad(b) || compareSections(info.get(a)!.sec, info.get(b)!.sec) || a.localeCompare(b));
}

/** device/transport, and /ring where the run names one: a column and a run label. */
function comboKey(x: { device: string; transport: string; ring?: string }): string {
  return `${x.device}/${x.transport}${x.ring ? `/${x.ring}` : ''}`;
}

export function reportHtml(r: Results, spec?: SpecText): string {
  const clauses = new Map(r.clauses.map((c) => [c.id, c]));
  const sIndex = new Map(r.scenarios.map((s, i) => [s.id, i]));
  // One column per device/transport/ring run (a --ring all run has each device/transport twice).
  const combos = [...new Set(r.target.combinations.map(comboKey))];
  const text = (id: string): string => {
    const t = spec?.texts.get(id);
    return t ? `<blockquote class="spec" title="quoted from VIRTIO ${esc(spec!.version)}">${esc(t)}</blockquote>` : '';
  };

  const metaRows: [string, string][] = [
    ['Target', r.target.combinations.map((c) => `${comboKey(c)}: ${c.description ?? 'no target started'}`).join('\n')],
    ['Adapter / device / transport', `${r.target.adapter} / ${r.target.device} / ${r.target.transport}`],
    ['Defect', r.target.defect ?? 'none'],
    ['Spec version', r.spec.version + (spec ? ` (clause text from ${spec.version})` : '')],
    ['Suite', `${r.suite.name} ${r.suite.version}${r.suite.commit ? ` (${r.suite.commit.slice(0, 12)})` : ''}`],
    ['Started', r.run.startedAt],
    ['Duration', `${(r.run.durationMs / 1000).toFixed(2)} s${r.run.interrupted ? ' — INTERRUPTED: only the scenarios finished before the stop are reported' : ''}`],
    ...(r.run.tags ? [['Tags', r.run.tags] as [string, string]] : []),
    ...(r.target.ring ? [['Ring', r.target.ring] as [string, string]] : []),
  ];
  // The exact command line of every QEMU process, per device/transport run, folded.
  const qemuBlock = r.target.combinations.filter((c) => c.commandLines?.length).map((c) => {
    const pool = c.pool ? ` — ${c.pool.created} process${c.pool.created === 1 ? '' : 'es'} started, ${c.pool.reused} reuse${c.pool.reused === 1 ? '' : 's'} after a reset` : '';
    return `<details class="cmdlines"><summary>${esc(c.device)}/${esc(c.transport)}${c.ring ? `/${esc(c.ring)}` : ''}: QEMU ${esc(c.targetVersion ?? '?')}${esc(pool)}</summary>${c.commandLines!.map((l) => `<pre class="cmdline">${esc(l.map(shellQuote).join(' '))}</pre>`).join('')}</details>`;
  }).join('');
  const exp = r.expectations;
  const expBlock = exp ? `<section id="expectations"><h2>Expectations <span class="counts">${esc(exp.file)}</span></h2>
    <p>${exp.differences.length ? `<b class="c-FAIL">${exp.differences.length} difference${exp.differences.length === 1 ? '' : 's'}</b>` : '<b class="c-PASS">no difference</b>'}; ${exp.matched} scenario verdicts as expected.${exp.note ? ` Note: ${esc(exp.note)}.` : ''}</p>
    ${exp.differences.length ? `<table class="diffs"><tr><th>Scenario</th><th>Expected</th><th>Got</th><th>Detail</th></tr>${exp.differences.map((d) => `<tr class="diff"><td>${esc(d.id)}</td><td>${esc(d.expected)}</td><td>${esc(d.actual)}</td><td>${esc(d.detail)}</td></tr>`).join('')}</table>` : ''}
  </section>` : '';

  const cards = VERDICTS.map((v) => `
    <label class="card v-${v}" data-filter="${v}">
      <input type="checkbox" class="vf" value="${v}" checked>
      <span class="name">${v === 'NOT_APPLICABLE' ? 'NOT APPLICABLE' : v}</span>
      <span class="n" data-count="scenarios-${v}">${r.summary[v]}</span><span class="unit">scenarios</span>
      <span class="n2" data-count="clauses-${v}">${r.clauseSummary[v]}</span><span class="unit">clauses</span>
    </label>`).join('');

  const areaRank = new Map(areaOrder(r.clauses).map((a, i) => [a, i]));
  const areaRows = [...r.areas].sort((x, y) => (areaRank.get(x.area) ?? 0) - (areaRank.get(y.area) ?? 0)).map((a) => `<tr><td>${esc(a.area)}</td><td class="num">${VERDICTS.reduce((n, v) => n + a.clauses[v], 0)}</td>${VERDICTS.map((v) => `<td class="num ${a.clauses[v] ? `c-${v}` : 'zero'}">${a.clauses[v]}</td>`).join('')}<td class="num">${a.scenarios}</td></tr>`).join('');

  // The same scenario failing the same way on several device/transport runs is one card.
  const problems = r.scenarios.filter((s) => NOT_OK.includes(s.verdict)).sort((a, b) => SEVERITY.indexOf(a.verdict) - SEVERITY.indexOf(b.verdict));
  const groups = new Map<string, ResultsScenario[]>();
  for (const s of problems) {
    const k = `${s.uri}:${s.line}|${s.verdict}|${s.messages.join('|')}`;
    groups.set(k, [...(groups.get(k) ?? []), s]);
  }
  const problemCards = [...groups.values()].map((ss) => {
    const s = ss[0];
    const v = s.violation;
    const runs = ss.map((x) => `<a class="combo" href="#s${sIndex.get(x.id)}">${esc(comboKey(x))}</a>`).join(' ');
    return `<article class="problem" data-verdict="${s.verdict}">
      <h3>${badge(s.verdict)} ${esc(s.name)} <span class="runs">${runs}</span></h3>
      <p class="where">${esc(s.uri)}:${s.line}${s.step ? ` — at step “${esc(s.step)}”` : ''}</p>
      ${v ? `<dl>
        <dt>Clause</dt><dd>${clauseRef(clauses.get(v.clause), v.clause)}${clauses.get(v.clause)?.label ? ` <span class="label">${esc(shortLabel(clauses.get(v.clause)!.label))}</span>` : ''}</dd>
        <dt>Expected</dt><dd>${esc(v.expected)}</dd>
        <dt>Observed</dt><dd class="observed">${esc(v.observed)}</dd>
      </dl>${text(v.clause)}` : `<p class="msg">${esc(s.messages[0] ?? '')}</p>
      <p class="clauses">Clauses: ${s.clauses.map((id) => clauseRef(clauses.get(id), id)).join(', ') || '—'}</p>`}
      ${evidence(s)}
    </article>`;
  }).join('\n');

  const areas = areaOrder(r.clauses);
  const matrix = areas.map((area) => {
    // Failures first, then document order.
    const cs = r.clauses.filter((c) => c.area === area)
      .sort((a, b) => SEVERITY.indexOf(a.verdict) - SEVERITY.indexOf(b.verdict) || compareSections(a.section ?? '', b.section ?? '') || (a.ordinal ?? 0) - (b.ordinal ?? 0));
    const rows = cs.map((c) => {
      const cells = combos.map((combo) => {
        const chips = c.scenarios
          .map((id) => r.scenarios[sIndex.get(id)!])
          .filter((s) => s && comboKey(s) === combo)
          .map((s) => `<a class="chip v-${s.verdict}" href="#s${sIndex.get(s.id)}" data-verdict="${s.verdict}" title="${esc(`${s.verdict}: ${s.name}`)}">${esc(s.verdict === 'NOT_APPLICABLE' ? 'N/A' : s.verdict)} · ${esc(s.name)}</a>`)
          .join('');
        return `<td class="cell">${chips || '<span class="none">—</span>'}</td>`;
      }).join('');
      const t = text(c.id);
      return `<tr class="clause" data-verdict="${c.verdict}" id="c-${esc(c.id)}">
        <td>${badge(c.verdict)}</td>
        <td class="cid"><code>${esc(c.id)}</code><div class="label">${esc(shortLabel(c.label))}</div>${t ? `<details><summary>clause text</summary>${t}</details>` : ''}</td>
        <td class="sec">${c.section !== null ? `§${esc(c.section)} ¶${esc(c.ordinal)}` : '—'}</td>
        <td class="kw">${esc(c.keywords.join(' / '))}</td>${cells}</tr>`;
    }).join('\n');
    const counts = VERDICTS.filter((v) => cs.some((c) => c.verdict === v)).map((v) => `${cs.filter((c) => c.verdict === v).length} ${badge(v)}`).join(' ');
    return `<section class="area" data-area="${esc(area)}">
      <h3>${esc(area)} <span class="counts">${cs.length} clauses: ${counts}</span></h3>
      <div class="scroll"><table class="matrix"><thead><tr><th>Verdict</th><th>Clause</th><th>Section</th><th>Keywords</th>${combos.map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead>
      <tbody>${rows}</tbody></table></div></section>`;
  }).join('\n');

  const scenarioRows = r.scenarios.map((s, i) => `<tr class="scenario" id="s${i}" data-verdict="${s.verdict}">
    <td>${badge(s.verdict)}</td><td>${esc(s.name)}</td><td>${esc(s.device)}/${esc(s.transport)}</td>
    <td class="where">${esc(s.uri)}:${s.line}</td><td class="num">${s.durationMs.toFixed(1)}</td>
    <td>${s.clauses.map((id) => `<a href="#c-${esc(id)}"><code>${esc(id)}</code></a>`).join('<br>')}</td>
    <td class="msg">${esc(s.messages.join(' — '))}${evidence(s)}</td></tr>`).join('\n');

  const noticeBlock = spec ? `<section id="notice"><h2>Spec text</h2>
    <p>Clause text on this page is quoted from the VIRTIO specification source folder ${esc(spec.version)}, read when the report was written. It is reproduced under the following notice:</p>
    <pre class="notice">${esc(spec.notice)}</pre></section>` : '';

  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>virtio-cts report — ${esc(r.target.adapter)} ${esc(r.target.device)}/${esc(r.target.transport)}${r.target.defect ? ` (defect ${esc(r.target.defect)})` : ''}</title>
<style>${CSS}</style></head>
<body>
<header><h1>virtio-cts conformance report</h1><p class="sub">${esc(r.target.adapter)} target · device ${esc(r.target.device)} · transport ${esc(r.target.transport)} · spec ${esc(r.spec.version)}${r.target.defect ? ` · defect <code>${esc(r.target.defect)}</code>` : ''}</p></header>
<main>
<section id="summary"><h2>Summary</h2>
  <table class="meta">${metaRows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v).split('\n').join('<br>')}</td></tr>`).join('')}</table>
  ${qemuBlock ? `<div class="qemu"><b>QEMU command lines</b>${qemuBlock}</div>` : ''}
  <p class="hint">Untick a verdict to hide it everywhere on the page.</p>
  <div class="cards">${cards}</div>
  <p class="filterbar"><input type="search" id="q" placeholder="filter by text (clause ID, scenario, message)"> <span id="shown"></span></p>
  <h3>Clauses per area</h3>
  <table class="areas"><thead><tr><th>Area</th><th>Clauses</th>${VERDICTS.map((v) => `<th>${v === 'NOT_APPLICABLE' ? 'N/A' : v}</th>`).join('')}<th>Scenarios</th></tr></thead><tbody>${areaRows}</tbody></table>
</section>
${expBlock}
<section id="failures"><h2>Failures, warnings and problems <span class="counts">${problems.length} scenario runs</span></h2>
${problemCards || '<p class="allgood">Every scenario passed or was not applicable.</p>'}
</section>
<section id="matrix"><h2>Clauses × scenarios</h2>
<p class="hint">One row per clause (verdict = worst of its scenarios); one column per device/transport run; each chip is a scenario.</p>
${matrix}
</section>
<section id="scenarios"><h2>Scenarios <span class="counts">${r.scenarios.length}</span></h2>
<table class="scenarios"><thead><tr><th>Verdict</th><th>Scenario</th><th>Run</th><th>Location</th><th>ms</th><th>Clauses</th><th>Message</th></tr></thead>
<tbody>${scenarioRows}</tbody></table></section>
${noticeBlock}
</main>
<footer>Generated by ${esc(r.suite.name)} ${esc(r.suite.version)} at ${esc(r.run.finishedAt)}. Results format ${esc(r.format)} v${r.formatVersion}.</footer>
<script>${JS}</script>
</body></html>
`;
}

const CSS = `
:root{--PASS:#1a7f37;--FAIL:#cf222e;--WARN:#bf8700;--NOT_APPLICABLE:#6e7781;--INCONCLUSIVE:#8250df;--WEDGED:#bc4c00;--ERROR:#a40e26;--bg:#fff;--fg:#1f2328;--mut:#59636e;--line:#d1d9e0}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:var(--bg)}
header{padding:16px 24px;background:#24292f;color:#fff}header h1{margin:0;font-size:20px}header .sub{margin:4px 0 0;color:#d0d7de}
main{padding:8px 24px 24px}h2{margin:28px 0 10px;border-bottom:1px solid var(--line);padding-bottom:4px}h3{margin:18px 0 8px}
code{font:12px/1.3 ui-monospace,SFMono-Regular,Menlo,monospace}table{border-collapse:collapse}th,td{border:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
thead th{background:#f6f8fa;position:sticky;top:0}.num{text-align:right}.zero{color:#c0c4c8}.meta th{background:#f6f8fa;font-weight:600}
.badge{display:inline-block;min-width:44px;text-align:center;padding:1px 6px;border-radius:10px;color:#fff;font-size:11px;font-weight:700;letter-spacing:.02em}
${VERDICTS.map((v) => `.v-${v}.badge,.chip.v-${v}{background:var(--${v})}.card.v-${v}{border-left:6px solid var(--${v})}.c-${v}{color:var(--${v});font-weight:700}`).join('')}
.cards{display:flex;flex-wrap:wrap;gap:8px;margin:8px 0}.card{display:grid;grid-template-columns:auto auto;gap:0 6px;align-items:baseline;border:1px solid var(--line);border-radius:6px;padding:6px 10px;cursor:pointer;min-width:150px;user-select:none}
.card input{grid-column:1/3;justify-self:start;margin:0}.card .name{grid-column:1/3;font-weight:700;font-size:12px}.card .n,.card .n2{font-size:20px;font-weight:700;text-align:right}.card .n2{font-size:14px}.card .unit{color:var(--mut);font-size:12px}
.card.off{opacity:.4}.hint{color:var(--mut);margin:4px 0}.filterbar input{width:360px;padding:4px 8px}#shown{color:var(--mut);margin-left:8px}
.problem{border:1px solid var(--line);border-radius:6px;padding:8px 12px;margin:8px 0}.problem h3{margin:0 0 4px;font-size:15px}.problem .where{margin:0;color:var(--mut);font-size:12px}
.problem dl{display:grid;grid-template-columns:90px 1fr;gap:2px 8px;margin:8px 0 0}.problem dt{color:var(--mut)}.problem dd{margin:0}.observed{font-weight:600}
.combo{font-weight:400;color:var(--mut);font-size:12px}.sec{color:var(--mut);white-space:nowrap}.label{color:var(--mut);font-size:12px}.kw{font-size:12px;white-space:nowrap}
.chip{display:block;margin:1px 0;padding:1px 6px;border-radius:4px;color:#fff;font-size:11px;text-decoration:none;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;max-width:230px}
.none{color:#c0c4c8}.matrix td.cell{min-width:140px;max-width:240px}.cid{min-width:300px}.cid code{white-space:nowrap}.scroll{overflow-x:auto}.runs a.combo{display:inline-block;border:1px solid var(--line);border-radius:4px;padding:0 5px;margin-left:2px;text-decoration:none}.area h3 .counts,.counts{font-weight:400;color:var(--mut);font-size:13px}
blockquote.spec{margin:6px 0;padding:4px 10px;border-left:3px solid #8c959f;background:#f6f8fa;font-size:13px}
pre.notice{white-space:pre-wrap;font-size:11px;background:#f6f8fa;padding:8px;border:1px solid var(--line)}.msg{max-width:520px}
pre.cmdline{white-space:pre-wrap;word-break:break-all;font-size:11px;background:#f6f8fa;padding:6px;border:1px solid var(--line)}.qemu{margin:8px 0}.diffs td{font-size:12px}
.scenarios td.where{font-size:12px;color:var(--mut);white-space:nowrap}.allgood{color:var(--PASS);font-weight:600}
.evidence pre{margin:2px 0 6px;font-size:11px;white-space:pre-wrap;background:#f6f8fa;padding:4px}.evidence summary{color:var(--mut);font-size:12px;cursor:pointer}.hidden{display:none!important}footer{padding:12px 24px;color:var(--mut);font-size:12px;border-top:1px solid var(--line)}
`;

// Filters: verdict checkboxes and a text box hide rows, chips and failure cards.
const JS = `
(function(){
  var boxes=[].slice.call(document.querySelectorAll('input.vf'));var q=document.getElementById('q');
  function apply(){
    var on={};boxes.forEach(function(b){on[b.value]=b.checked;b.parentNode.classList.toggle('off',!b.checked);});
    var text=(q.value||'').toLowerCase();
    document.querySelectorAll('[data-verdict]').forEach(function(el){
      var hide=!on[el.getAttribute('data-verdict')]||(text&&el.textContent.toLowerCase().indexOf(text)<0&&!el.classList.contains('chip'));
      el.classList.toggle('hidden',!!hide);
    });
    document.querySelectorAll('section.area').forEach(function(s){s.classList.toggle('hidden',!s.querySelector('tr.clause:not(.hidden)'));});
    var all=document.querySelectorAll('tr.scenario').length,vis=document.querySelectorAll('tr.scenario:not(.hidden)').length;
    document.getElementById('shown').textContent='showing '+vis+' of '+all+' scenarios';
  }
  boxes.forEach(function(b){b.addEventListener('change',apply);});q.addEventListener('input',apply);apply();
})();
`;
