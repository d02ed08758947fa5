// The orchestrator's side of a load generator child: forks a script once, sends it specs one at a
// time and waits (bounded) for each result; and the shutdown both benches run on a signal.
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { PendingAnswers } from './answers.mjs';
import { BENCH } from './paths.mjs';

/** @typedef {import('../load.mjs').LoadSpec} LoadSpec */
/** @typedef {import('../load.mjs').LoadResult} LoadResult */

/** Time allowed past a run's own length before the generator is declared stuck. */
const GRACE_MS = 60_000;

/**
 * A child process under bench/ that answers `{ id, spec }` messages with `{ id, result }` or
 * `{ id, error }`.
 * @template Spec, Result
 */
export class ChildGenerator {
  /** @type {import('node:child_process').ChildProcess} */
  #child;
  /** @type {PendingAnswers<Result>} */
  #pending = new PendingAnswers();
  #label;

  /**
   * @param {string} script the child's file under bench/
   * @param {string} label how errors name it
   */
  constructor(script, label) {
    this.#label = label;
    this.#child = fork(join(BENCH, script), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.#child.on('message', (/** @type {{ id: number, result?: Result, error?: string }} */ message) => {
      this.#pending.settle(message.id, message.result ? { result: message.result } : { error: new Error(`${label}: ${message.error}`) });
    });
    this.#child.on('exit', (code, signal) => this.#pending.rejectAll(new Error(`${label} exited (${signal ?? code})`)));
  }

  /**
   * Runs one spec in the child. Rejects if the child fails, exits, or gives no result within `limitMs`.
   * @param {Spec} spec
   * @param {number} limitMs
   * @returns {Promise<Result>}
   */
  runWithin(spec, limitMs) {
    const { id, answer } = this.#pending.expect(limitMs, `${this.#label}: no result after ${Math.round(limitMs / 1000)} s`);
    this.#child.send({ id, spec });
    return answer;
  }

  /** Ends the child process (idempotent). */
  stop() {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill();
  }
}

/** `npm run bench`'s generator: bench/load.mjs. @extends {ChildGenerator<LoadSpec, LoadResult>} */
export class LoadGenerator extends ChildGenerator {
  constructor() {
    super('load.mjs', 'load generator');
  }

  /**
   * Runs one spec; rejects if it overruns `expectedMs` by more than a minute.
   * @param {LoadSpec} spec
   * @param {number} expectedMs how long the run should take
   * @returns {Promise<LoadResult>}
   */
  run(spec, expectedMs) {
    return this.runWithin(spec, expectedMs + GRACE_MS);
  }
}

/**
 * What a bench must stop on the way out: the current Miniflare and its load generator. On
 * SIGINT/SIGTERM both are stopped first in line (Miniflare's own exit hook, which kills workerd,
 * exits the process synchronously). Returns the shutdown, for the bench's own end.
 * @param {{ mf?: import('miniflare').Miniflare, generator?: { stop(): void } }} live
 * @returns {() => Promise<void>}
 */
export function stopOnSignals(live) {
  const shutdown = async () => {
    live.generator?.stop();
    const mf = live.mf;
    live.mf = undefined;
    await mf?.dispose().catch(() => {});
  };
  for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
    process.prependOnceListener(signal, () => {
      console.error(`\n${signal}: stopping Miniflare and the load generator`);
      void shutdown().finally(() => process.exit(130));
    });
  }
  return shutdown;
}

/**
 * Runs a bench's `main` to its end: an error is printed and sets exit code 1, and `shutdown`
 * (from stopOnSignals) runs either way.
 * @param {() => Promise<void>} main
 * @param {() => Promise<void>} shutdown
 */
export async function runToEnd(main, shutdown) {
  try {
    await main();
  } catch (err) {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exitCode = 1;
  } finally {
    await shutdown();
  }
}
