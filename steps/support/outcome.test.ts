import { describe, expect, it } from 'vitest';
import { classify } from './outcome.ts';
import { ClauseViolation, Inconclusive, NotApplicable, violationMessage } from './assert.ts';
import { TargetWedgedError } from '../../adapters/qemu/qtest.ts';
import type { Violation } from '../../reports/verdict.ts';

const v = (level: 'MUST' | 'SHOULD'): Violation => ({
  clause: 'dev/core/device-reset#3c77b259', level, section: '2.4.1', ordinal: 1, keywords: ['MUST'], expected: 'status 0', observed: 'status 0x0f',
});

describe('verdict mapping', () => {
  it('maps a passed scenario to PASS', () => {
    expect(classify('PASSED', undefined, undefined, []).verdict).toBe('PASS');
  });
  it('maps a MUST-level violation to FAIL with clause, section, keyword, expected and observed in the message', () => {
    const o = classify('FAILED', new ClauseViolation(v('MUST')), undefined, []);
    expect(o.verdict).toBe('FAIL');
    expect(o.message).toBe('dev/core/device-reset#3c77b259 (§2.4.1 ¶1, MUST): expected status 0; observed status 0x0f');
    expect(o.violation?.clause).toBe('dev/core/device-reset#3c77b259');
  });
  it('maps a SHOULD-level violation to WARN', () => {
    expect(classify('FAILED', new ClauseViolation(v('SHOULD')), undefined, []).verdict).toBe('WARN');
  });
  it('maps notApplicable and inconclusive', () => {
    const na = classify('FAILED', new NotApplicable('no EVENT_IDX'), undefined, []);
    expect(na).toMatchObject({ verdict: 'NOT_APPLICABLE', message: 'no EVENT_IDX' });
    expect(classify('FAILED', new Inconclusive('cannot see'), undefined, []).verdict).toBe('INCONCLUSIVE');
  });
  it('maps a wedged target and a step timeout to WEDGED', () => {
    expect(classify('FAILED', new TargetWedgedError('qtest connection lost'), undefined, []).verdict).toBe('WEDGED');
    expect(classify('FAILED', new Error('function timed out, ensure the promise resolves within 10000 milliseconds'), undefined, []).verdict).toBe('WEDGED');
  });
  it('maps anything else, and undefined/ambiguous/pending steps, to ERROR', () => {
    expect(classify('FAILED', new TypeError('x is undefined'), undefined, [])).toMatchObject({ verdict: 'ERROR', message: 'TypeError: x is undefined' });
    expect(classify('FAILED', undefined, 'Error: boom\n    at foo', [])).toMatchObject({ verdict: 'ERROR', message: 'Error: boom' });
    for (const s of ['UNDEFINED', 'AMBIGUOUS', 'PENDING', 'UNKNOWN'] as const) expect(classify(s, undefined, undefined, []).verdict).toBe('ERROR');
  });
  it('matches errors by name, so a second copy of the support code still maps them', () => {
    const e = Object.assign(new Error('m'), { name: 'ClauseViolation', violation: v('SHOULD') });
    expect(classify('FAILED', e, undefined, []).verdict).toBe('WARN');
  });
  it('treats an error carrying { clause, expected, observed } (e.g. from driver/) as a violation of that clause', () => {
    const e = Object.assign(new Error('used len too long'), { clause: 'dev/core/virtqueues/the-virtqueue-used-ring#d50e44f4', expected: 'len <= 16', observed: 'len 32' });
    const o = classify('FAILED', e, undefined, []);
    expect(o.verdict).toBe('FAIL');
    expect(o.message).toBe('dev/core/virtqueues/the-virtqueue-used-ring#d50e44f4 (§2.7.8.2 ¶2, MUST): expected len <= 16; observed len 32');
    const unknown = Object.assign(new Error('x'), { clause: 'dev/none#00000000', expected: 'a', observed: 'b' });
    expect(classify('FAILED', unknown, undefined, []).verdict).toBe('ERROR');
  });
  it('omits the section part when the clause has no row in the spec version', () => {
    expect(violationMessage({ clause: 'x#1', level: 'MUST', expected: 'a', observed: 'b' })).toBe('x#1: expected a; observed b');
  });
});
