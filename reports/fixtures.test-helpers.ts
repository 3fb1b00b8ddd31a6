// Fabricated scenario results for the report tests (no run needed).
import type { CombinationResult, ScenarioResult } from '../steps/support/runner/execute.ts';
import type { ClauseMeta } from './aggregate.ts';
import type { Verdict } from './verdict.ts';

export const A = 'dev/core/device-reset#3c77b259';
export const B = 'dev/core/feature-bits#82457834';
export const C = 'dev/pci/pci-device-discovery#c6a7eb77';

export const META: Record<string, ClauseMeta> = {
  [A]: { label: 'devicenormative:Basic Facilities of a Virtio Device / Device Reset', area: 'core', section: '2.4.1', ordinal: 1, keywords: ['MUST'] },
  [B]: { label: 'devicenormative:Basic Facilities of a Virtio Device / Feature Bits', area: 'core', section: '2.2.2', ordinal: 4, keywords: ['SHOULD NOT'] },
  [C]: { label: 'devicenormative:PCI Device Discovery', area: 'pci', section: '4.1.2.1', ordinal: 1, keywords: ['MUST'] },
};

let n = 0;
export function scenario(name: string, verdict: Verdict, clauses: string[], extra: Partial<ScenarioResult> = {}): ScenarioResult {
  n++;
  const device = extra.device ?? 'entropy';
  const transport = extra.transport ?? 'pci';
  return {
    id: `${name} [${device}/${transport}]`, name, feature: 'Fixture feature', uri: `features/f${n % 2}.feature`, line: n * 5,
    tags: clauses.map((c) => `@clause:${c}`), clauses, device, transport, verdict, checks: [], evidence: [],
    startedAt: '2026-01-01T00:00:00.000Z', durationMs: 2.5, ...extra,
  };
}

export function combos(scenarios: ScenarioResult[]): CombinationResult[] {
  const out = new Map<string, CombinationResult>();
  for (const s of scenarios) {
    const k = `${s.device}/${s.transport}/${s.ring ?? ''}`;
    const c = out.get(k) ?? { device: s.device, transport: s.transport, ...(s.ring ? { ring: s.ring } : {}), startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:00:01.000Z', scenarios: [] };
    c.scenarios.push(s);
    out.set(k, c);
  }
  return [...out.values()];
}
