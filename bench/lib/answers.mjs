// Answers awaited by id from another process (the load generator, workerd's inspector): each
// waiter is settled by its answer, or rejected when it does not come in time.

/**
 * @template T
 * @typedef {{ resolve: (result: T) => void, reject: (err: Error) => void }} Waiter
 */

/**
 * @template T
 */
export class PendingAnswers {
  /** @type {Map<number, Waiter<T>>} */
  #waiters = new Map();
  #nextId = 1;

  /**
   * A new id and the promise of its answer, rejected with `timeoutMessage` after `timeoutMs`.
   * @param {number} timeoutMs
   * @param {string} timeoutMessage
   * @returns {{ id: number, answer: Promise<T> }}
   */
  expect(timeoutMs, timeoutMessage) {
    const id = this.#nextId++;
    /** @type {Promise<T>} */
    const answer = new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(id);
        reject(new Error(timeoutMessage));
      }, timeoutMs);
      this.#waiters.set(id, {
        resolve: (result) => {
          clearTimeout(timer);
          resolve(result);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
    });
    return { id, answer };
  }

  /**
   * Settles the waiter of `id`, if it still waits.
   * @param {number | undefined} id
   * @param {{ result: T } | { error: Error }} outcome
   */
  settle(id, outcome) {
    const waiter = id === undefined ? undefined : this.#waiters.get(id);
    if (!waiter) return;
    this.#waiters.delete(/** @type {number} */ (id));
    if ('error' in outcome) waiter.reject(outcome.error);
    else waiter.resolve(outcome.result);
  }

  /** Rejects every waiter (the other side is gone). @param {Error} err */
  rejectAll(err) {
    for (const waiter of this.#waiters.values()) waiter.reject(err);
    this.#waiters.clear();
  }
}
