// The orchestrator's side of the load generator: forks bench/load.mjs once, sends it load specs
// one at a time and waits (bounded) for each result.
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { PendingAnswers } from './answers.mjs';
import { BENCH } from './paths.mjs';

/** @typedef {import('../load.mjs').LoadSpec} LoadSpec */
/** @typedef {import('../load.mjs').LoadResult} LoadResult */

/** Time allowed past a run's own length before the generator is declared stuck. */
const GRACE_MS = 60_000;

export class LoadGenerator {
  /** @type {import('node:child_process').ChildProcess} */
  #child;
  /** @type {PendingAnswers<LoadResult>} */
  #pending = new PendingAnswers();

  constructor() {
    this.#child = fork(join(BENCH, 'load.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.#child.on('message', (/** @type {{ id: number, result?: LoadResult, error?: string }} */ message) => {
      this.#pending.settle(
        message.id,
        message.result ? { result: message.result } : { error: new Error(`load generator: ${message.error}`) },
      );
    });
    this.#child.on('exit', (code, signal) => this.#pending.rejectAll(new Error(`load generator exited (${signal ?? code})`)));
  }

  /**
   * Runs one spec in the child. Rejects if the child fails, exits, or overruns `expectedMs` by
   * more than a minute.
   * @param {LoadSpec} spec
   * @param {number} expectedMs how long the run should take
   * @returns {Promise<LoadResult>}
   */
  run(spec, expectedMs) {
    const limit = expectedMs + GRACE_MS;
    const { id, answer } = this.#pending.expect(limit, `load generator: no result after ${Math.round(limit / 1000)} s`);
    this.#child.send({ id, spec });
    return answer;
  }

  /** Ends the child process (idempotent). */
  stop() {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill();
  }
}
