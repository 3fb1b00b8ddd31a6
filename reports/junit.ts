// junit.xml for CI systems: one <testsuite> per feature file, one <testcase> per scenario
// and combination. FAIL and WEDGED are <failure>, ERROR is <error>, NOT_APPLICABLE and
// INCONCLUSIVE are <skipped> with the reason, WARN passes with a note in <system-out>.
// Clause IDs and section numbers go into <properties>.
import { create } from 'xmlbuilder2';
import type { Results, ResultsScenario } from './results.ts';

export function junitXml(r: Results): string {
  const byFile = new Map<string, ResultsScenario[]>();
  for (const s of r.scenarios) byFile.set(s.uri, [...(byFile.get(s.uri) ?? []), s]);
  const clauses = new Map(r.clauses.map((c) => [c.id, c]));
  const count = (xs: ResultsScenario[], ...vs: string[]): number => xs.filter((s) => vs.includes(s.verdict)).length;
  const secs = (ms: number): string => (ms / 1000).toFixed(3);

  const root = create({ version: '1.0', encoding: 'UTF-8' }).ele('testsuites', {
    name: `virtio-cts ${r.target.adapter} (spec ${r.spec.version})`,
    tests: r.scenarios.length,
    failures: count(r.scenarios, 'FAIL', 'WEDGED'),
    errors: count(r.scenarios, 'ERROR'),
    skipped: count(r.scenarios, 'NOT_APPLICABLE', 'INCONCLUSIVE'),
    time: secs(r.run.durationMs),
    timestamp: r.run.startedAt,
  });
  for (const [uri, xs] of byFile) {
    const suite = root.ele('testsuite', {
      name: xs[0].feature || uri,
      file: uri,
      tests: xs.length,
      failures: count(xs, 'FAIL', 'WEDGED'),
      errors: count(xs, 'ERROR'),
      skipped: count(xs, 'NOT_APPLICABLE', 'INCONCLUSIVE'),
      time: secs(xs.reduce((a, s) => a + s.durationMs, 0)),
    });
    for (const s of xs) {
      const tc = suite.ele('testcase', { name: s.id, classname: uri.replace(/\.feature$/, '').split('/').join('.'), file: uri, line: s.line, time: secs(s.durationMs) });
      const props = tc.ele('properties');
      props.ele('property', { name: 'verdict', value: s.verdict });
      props.ele('property', { name: 'device', value: s.device });
      props.ele('property', { name: 'transport', value: s.transport });
      for (const id of s.clauses) {
        props.ele('property', { name: 'clause', value: id });
        const sec = clauses.get(id)?.section;
        if (sec) props.ele('property', { name: 'section', value: `${id} §${sec}` });
      }
      const text = [...s.messages, ...(s.target ? [`target: ${s.target}`] : [])].join('\n');
      const msg = s.messages[0] ?? s.verdict;
      switch (s.verdict) {
        case 'FAIL':
        case 'WEDGED':
          tc.ele('failure', { message: msg, type: s.verdict }).txt(text);
          break;
        case 'ERROR':
          tc.ele('error', { message: msg, type: s.verdict }).txt(text);
          break;
        case 'NOT_APPLICABLE':
        case 'INCONCLUSIVE':
          tc.ele('skipped', { message: `${s.verdict}: ${msg}` });
          break;
        case 'WARN':
          tc.ele('system-out').txt(`WARN (a SHOULD-level clause is not met): ${text}`);
          break;
        case 'PASS':
          break;
      }
    }
  }
  return root.end({ prettyPrint: true }) + '\n';
}
