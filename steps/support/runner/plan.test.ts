import { describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { combinationExpression, findFeatureFiles, planScenarios, selectScenarios, tagValuesSeen, unknownClauses } from './plan.ts';

function withFeatures(files: Record<string, string>, f: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'cts-plan-'));
  try {
    for (const [name, body] of Object.entries(files)) {
      mkdirSync(join(dir, name, '..'), { recursive: true });
      writeFileSync(join(dir, name), body);
    }
    f(dir);
  } finally { rmSync(dir, { recursive: true, force: true }); }
}

const FEATURE = `@role:device
Feature: tags
  @clause:dev/core/x#abcd1234 @clause:dev/pci/a/b-c#0123abcd~2 @device:blk # a comment after the tags
  Scenario: one
    Given a step

  @clause:dev/core/unknown#deadbeef
  @transport:mmio
  Scenario Outline: two <n>
    Given a step
    Examples:
      | n |
      | 1 |
      | 2 |
`;

describe('feature planning', () => {
  it('keeps the @clause:<role>/<area>/<slug>#<fp8> spelling intact through Gherkin parsing (# inside a tag is not a comment)', () => {
    withFeatures({ 'a/t.feature': FEATURE }, (dir) => {
      const { scenarios, errors } = planScenarios(findFeatureFiles(dir, dir), dir);
      expect(errors).toEqual([]);
      expect(scenarios[0].tags).toEqual(['@role:device', '@clause:dev/core/x#abcd1234', '@clause:dev/pci/a/b-c#0123abcd~2', '@device:blk']);
      expect(scenarios[0].clauses).toEqual(['dev/core/x#abcd1234', 'dev/pci/a/b-c#0123abcd~2']);
    });
  });

  it('gives one scenario per example row, each with its own line', () => {
    withFeatures({ 't.feature': FEATURE }, (dir) => {
      const { scenarios } = planScenarios(['t.feature'], dir);
      expect(scenarios.map((s) => [s.name, s.line])).toEqual([['one', 4], ['two 1', 13], ['two 2', 14]]);
      expect(scenarios[0].uri).toBe('t.feature');
      expect(scenarios[0].feature).toBe('tags');
    });
  });

  it('names each unknown clause tag with the file and the line of the tag', () => {
    withFeatures({ 'f/t.feature': FEATURE }, (dir) => {
      const { scenarios } = planScenarios(['f/t.feature'], dir);
      const known = new Set(['dev/core/x#abcd1234', 'dev/pci/a/b-c#0123abcd~2']);
      const u = unknownClauses(scenarios, (id) => known.has(id), (id) => (id.includes('unknown') ? 'dev/core/known#11111111' : undefined));
      expect(u).toEqual([{ id: 'dev/core/unknown#deadbeef', uri: 'f/t.feature', line: 7, suggestion: 'dev/core/known#11111111' }]);
    });
  });

  it('reports Gherkin syntax errors with file and line', () => {
    withFeatures({ 'bad.feature': 'Feature: x\n  Scenario: y\n    Given a\n  Examples oops\n' }, (dir) => {
      const { errors } = planScenarios(['bad.feature'], dir);
      expect(errors.length).toBeGreaterThan(0);
      expect(errors[0].uri).toBe('bad.feature');
      expect(errors[0].line).toBe(4);
    });
  });

  it('selects per combination: untagged scenarios everywhere, tagged ones only on their device/transport', () => {
    withFeatures({ 't.feature': FEATURE }, (dir) => {
      const { scenarios } = planScenarios(['t.feature'], dir);
      const known = { devices: ['entropy', ...tagValuesSeen(scenarios, 'device')], transports: ['pci', ...tagValuesSeen(scenarios, 'transport')] };
      const names = (d: string, t: string, user?: string): string[] => selectScenarios(scenarios, combinationExpression(d, t, known, user)).map((s) => s.name);
      expect(names('entropy', 'pci')).toEqual([]);
      expect(names('blk', 'pci')).toEqual(['one']);
      expect(names('entropy', 'mmio')).toEqual(['two 1', 'two 2']);
      expect(names('blk', 'mmio')).toEqual(['one', 'two 1', 'two 2']);
      expect(names('blk', 'mmio', 'not @device:blk')).toEqual(['two 1', 'two 2']);
    });
  });
});
