// The orchestrator's side of the load generator: forks bench/load.mjs once, sends it load specs
// one at a time and waits (bounded) for each result.
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { BENCH } from './paths.mjs';

/** @typedef {import('../load.mjs').LoadSpec} LoadSpec */
/** @typedef {import('../load.mjs').LoadResult} LoadResult */

/** Time allowed past a run's own length before the generator is declared stuck. */
const GRACE_MS = 60_000;

export class LoadGenerator {
  /** @type {import('node:child_process').ChildProcess} */
  #child;
  #nextId = 0;
  /** @type {Map<number, { resolve: (result: LoadResult) => void, reject: (err: Error) => void }>} */
  #pending = new Map();

  constructor() {
    this.#child = fork(join(BENCH, 'load.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.#child.on('message', (/** @type {{ id: number, result?: LoadResult, error?: string }} */ message) => {
      const waiter = this.#pending.get(message.id);
      if (!waiter) return;
      this.#pending.delete(message.id);
      if (message.result) waiter.resolve(message.result);
      else waiter.reject(new Error(`load generator: ${message.error}`));
    });
    this.#child.on('exit', (code, signal) => {
      for (const waiter of this.#pending.values()) waiter.reject(new Error(`load generator exited (${signal ?? code})`));
      this.#pending.clear();
    });
  }

  /**
   * Runs one spec in the child. Rejects if the child fails, exits, or overruns `expectedMs` by
   * more than a minute.
   * @param {LoadSpec} spec
   * @param {number} expectedMs how long the run should take
   * @returns {Promise<LoadResult>}
   */
  run(spec, expectedMs) {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`load generator: no result after ${Math.round((expectedMs + GRACE_MS) / 1000)} s`));
      }, expectedMs + GRACE_MS);
      this.#pending.set(id, {
        resolve: (result) => {
          clearTimeout(timer);
          resolve(result);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
      this.#child.send({ id, spec });
    });
  }

  /** Ends the child process (idempotent). */
  stop() {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill();
  }
}
