// Terminal output of a run, after Playwright's "list" reporter: one line per scenario
// with its verdict as it finishes, the reason under every non-PASS line, a summary at
// the end. Colours only on a terminal; --quiet keeps only the non-PASS lines.
import type { Verdict } from '../../../reports/verdict.ts';
import type { ScenarioResult } from './execute.ts';

const COLOUR: Record<Verdict, string> = {
  PASS: '32', FAIL: '31', WARN: '33', NOT_APPLICABLE: '90', INCONCLUSIVE: '35', WEDGED: '33;1', ERROR: '31;1',
};
const MARK: Record<Verdict, string> = {
  PASS: 'ok', FAIL: 'x', WARN: '!', NOT_APPLICABLE: '-', INCONCLUSIVE: '?', WEDGED: 'x', ERROR: 'x',
};

export interface ProgressOptions {
  write(s: string): void;
  colour: boolean;
  quiet: boolean;
  /** A terminal: keep a live "running" line at the bottom, rewritten in place. */
  live?: boolean;
  /** Scenario runs planned in total (for the live counter). */
  total?: number;
}

export class Progress {
  private n = 0;
  private liveShown = false;
  constructor(private readonly o: ProgressOptions) {}

  private clearLive(): void {
    if (this.liveShown) { this.o.write('\r\x1b[2K'); this.liveShown = false; }
  }

  started(name: string): void {
    if (!this.o.live) return;
    this.clearLive();
    const head = `[${this.n + 1}/${this.o.total ?? '?'}] `;
    const cols = (process.stdout.columns || 100) - head.length - 2;
    this.o.write(this.c('90', `${head}${name.length > cols ? `${name.slice(0, cols - 1)}…` : name}`));
    this.liveShown = true;
  }

  private c(code: string, s: string): string { return this.o.colour ? `\x1b[${code}m${s}\x1b[0m` : s; }

  combination(device: string, transport: string, scenarios: number, target: string): void {
    this.clearLive();
    if (this.o.quiet) return;
    this.o.write(`\n${this.c('1', `${target} · ${device}/${transport}`)} — ${scenarios} scenario${scenarios === 1 ? '' : 's'}\n`);
  }

  scenario(r: ScenarioResult): void {
    this.n++;
    this.clearLive();
    if (this.o.quiet && (r.verdict === 'PASS' || r.verdict === 'NOT_APPLICABLE')) return;
    const v = this.c(COLOUR[r.verdict], `${MARK[r.verdict].padStart(2)} ${r.verdict.padEnd(14)}`);
    const where = this.c('90', `${r.uri}:${r.line}`);
    const time = this.c('90', `(${r.durationMs < 10 ? r.durationMs.toFixed(1) : Math.round(r.durationMs)} ms)`);
    let line = `${v} ${r.device}/${r.transport}${r.ring && r.ring !== 'split' ? `/${r.ring}` : ''} › ${r.name} ${where} ${time}\n`;
    if (r.verdict !== 'PASS' && r.message) line += `${' '.repeat(18)}${this.c(COLOUR[r.verdict], r.message)}\n`;
    if (r.verdict !== 'PASS' && r.verdict !== 'NOT_APPLICABLE' && r.step) line += `${' '.repeat(18)}${this.c('90', `at step: ${r.step}`)}\n`;
    this.o.write(line);
  }

  summary(scenarios: Record<Verdict, number>, clauses: Record<Verdict, number>, wallMs: number, files: string[]): void {
    this.clearLive();
    const fmt = (t: Record<Verdict, number>): string => (Object.keys(t) as Verdict[]).filter((v) => t[v]).map((v) => this.c(COLOUR[v], `${t[v]} ${v}`)).join(', ') || 'none';
    const total = (t: Record<Verdict, number>): number => Object.values(t).reduce((a, b) => a + b, 0);
    this.o.write(`\n${total(scenarios)} scenarios: ${fmt(scenarios)}\n`);
    this.o.write(`${total(clauses)} clauses: ${fmt(clauses)}\n`);
    this.o.write(`${(wallMs / 1000).toFixed(2)} s\n`);
    if (files.length) this.o.write(`reports: ${files.join(', ')}\n`);
  }
}
