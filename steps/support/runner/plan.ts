// Before a run: parse the feature files, check every @clause: tag against the clause
// index, and work out which (device, transport) combinations run which scenarios.
import { AstBuilder, GherkinClassicTokenMatcher, Parser, compile } from '@cucumber/gherkin';
import { IdGenerator, type Pickle } from '@cucumber/messages';
import parseTagExpression from '@cucumber/tag-expressions';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { tagValues } from '../tags.ts';

export interface PlannedScenario {
  name: string;
  feature: string;
  /** Path relative to the working directory, '/'-separated. */
  uri: string;
  line: number;
  tags: string[];
  clauses: string[];
  /** Lines of each tag in the file (for error messages). */
  tagLines: Record<string, number>;
}

export interface ParseError { uri: string; line: number; message: string }

/** Every *.feature below `dir`, sorted, as paths relative to `cwd`. */
export function findFeatureFiles(dir: string, cwd: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d).sort()) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (e.endsWith('.feature')) out.push(relative(cwd, p).split('\\').join('/'));
    }
  };
  walk(dir);
  return out;
}

/** Parse feature files into scenarios (one per pickle: outlines give one per example row). */
export function planScenarios(files: string[], cwd: string): { scenarios: PlannedScenario[]; errors: ParseError[] } {
  const scenarios: PlannedScenario[] = [];
  const errors: ParseError[] = [];
  const newId = IdGenerator.incrementing();
  for (const uri of files) {
    const src = readFileSync(join(cwd, uri), 'utf8');
    const parser = new Parser(new AstBuilder(newId), new GherkinClassicTokenMatcher());
    let doc;
    try {
      doc = parser.parse(src);
    } catch (e) {
      const err = e as { errors?: { message: string; location?: { line: number } }[]; message: string };
      for (const x of err.errors ?? [{ message: err.message }]) errors.push({ uri, line: x.location?.line ?? 0, message: x.message });
      continue;
    }
    const lines = new Map<string, number>();   // AST node id → line
    const tagLines = new Map<string, number>(); // tag node id → line
    const feature = doc.feature;
    if (!feature) continue;
    for (const t of feature.tags) tagLines.set(t.id, t.location.line);
    const visit = (children: typeof feature.children): void => {
      for (const c of children) {
        if (c.rule) { for (const t of c.rule.tags) tagLines.set(t.id, t.location.line); visit(c.rule.children); }
        const s = c.scenario;
        if (!s) continue;
        lines.set(s.id, s.location.line);
        for (const t of s.tags) tagLines.set(t.id, t.location.line);
        for (const ex of s.examples) {
          for (const t of ex.tags) tagLines.set(t.id, t.location.line);
          for (const row of ex.tableBody) lines.set(row.id, row.location.line);
        }
      }
    };
    visit(feature.children);
    const pickles: readonly Pickle[] = compile(doc, uri, newId);
    for (const p of pickles) {
      const line = lines.get(p.astNodeIds[p.astNodeIds.length - 1]) ?? lines.get(p.astNodeIds[0]) ?? 0;
      const tags = p.tags.map((t) => t.name);
      const tl: Record<string, number> = {};
      for (const t of p.tags) tl[t.name] = tagLines.get(t.astNodeId) ?? line;
      scenarios.push({ name: p.name, feature: feature.name, uri, line, tags, clauses: tagValues(p.tags, 'clause'), tagLines: tl });
    }
  }
  return { scenarios, errors };
}

export interface UnknownClause { id: string; uri: string; line: number; suggestion?: string }

/** @clause: tags that do not resolve, each with the file:line of the tag. */
export function unknownClauses(
  scenarios: PlannedScenario[],
  resolves: (id: string) => boolean,
  suggest: (id: string) => string | undefined = () => undefined,
): UnknownClause[] {
  const seen = new Set<string>();
  const out: UnknownClause[] = [];
  for (const s of scenarios) {
    for (const id of s.clauses) {
      const line = s.tagLines[`@clause:${id}`] ?? s.line;
      const key = `${id}@${s.uri}:${line}`;
      if (seen.has(key) || resolves(id)) continue;
      seen.add(key);
      out.push({ id, uri: s.uri, line, suggestion: suggest(id) });
    }
  }
  return out;
}

/**
 * Tag expression selecting the scenarios of one combination: a scenario runs for a
 * device when it has no @device: tag or has this device's tag (same for transports).
 * `known` holds every device/transport value seen in the features or supported.
 */
export function combinationExpression(device: string, transport: string, known: { devices: string[]; transports: string[] }, user?: string): string {
  const part = (kind: string, v: string, all: string[]): string | undefined => {
    const others = [...new Set(all)].filter((x) => x !== v).map((x) => `@${kind}:${x}`);
    return others.length ? `(@${kind}:${v} or not (${others.join(' or ')}))` : undefined;
  };
  return [part('device', device, known.devices), part('transport', transport, known.transports), user ? `(${user})` : undefined]
    .filter((x): x is string => x !== undefined).join(' and ');
}

/**
 * Tag expression selecting the scenarios of a virtqueue layout: `@ring:split`,
 * `@ring:packed`, or `@ring:any` for scenarios that hold on either. A scenario without a
 * @ring: tag runs on split only (most scenarios were written against the split ring).
 */
export function ringExpression(ring: 'split' | 'packed'): string {
  return ring === 'split' ? '(@ring:split or @ring:any or not @ring:packed)' : '(@ring:packed or @ring:any)';
}

/** The scenarios a combination runs, using the same tag expression Cucumber gets. */
export function selectScenarios(scenarios: PlannedScenario[], expression: string): PlannedScenario[] {
  if (!expression) return scenarios;
  const node = parseTagExpression(expression);
  return scenarios.filter((s) => node.evaluate(s.tags));
}

/** Tag values of a kind seen across the scenarios (e.g. every @device: value). */
export function tagValuesSeen(scenarios: PlannedScenario[], prefix: string): string[] {
  return [...new Set(scenarios.flatMap((s) => tagValues(s.tags.map((name) => ({ name })), prefix)))].sort();
}

/** Throws with a readable message when a tag expression does not parse. */
export function checkTagExpression(expr: string): void {
  parseTagExpression(expr);
}
