// Child processes of the adapters (QEMU, vhost-user back-ends) run in their own process
// group with a temp dir of their own. Whatever is still alive when Node exits, dies of an
// uncaught error, or gets SIGINT/SIGTERM is killed and its dir removed, so a run never
// leaves processes or files behind. One set of hooks serves every adapter.
import { rmSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';

export interface LiveChild { pid: number; dir: string }

export function killGroup(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  try { process.kill(-pid, signal); } catch { /* already gone */ }
}

const registries = new Set<Set<LiveChild>>();
let hooksInstalled = false;

function reapAll(): void {
  for (const live of registries) {
    for (const l of live) {
      killGroup(l.pid);
      try { rmSync(l.dir, { recursive: true, force: true }); } catch { /* best effort */ }
    }
    live.clear();
  }
}

function onSignal(signal: NodeJS.Signals): void {
  reapAll();
  process.removeListener(signal, onSignal);
  // If nobody else handles the signal, restore the default behaviour (terminate), which
  // the shell reports as 128 + signo (130 SIGINT, 143 SIGTERM).
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

/** Install the exit and signal hooks (once); call before starting a child. */
export function installReaper(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  // 'exit' also runs when Node dies of an uncaught exception or unhandled rejection
  // (no 'uncaughtException' listener here: that would stop Node from crashing).
  process.on('exit', reapAll);
  // Signals reach the main thread only; a worker's children are reaped by 'exit'.
  if (!isMainThread) return;
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/** A set of live children of one kind (so each kind can be counted), reaped by the hooks. */
export function childRegistry(): Set<LiveChild> {
  const live = new Set<LiveChild>();
  registries.add(live);
  return live;
}
