// Samples one Worker's JS heap through workerd's DevTools inspector (Chrome DevTools Protocol
// over a WebSocket): a full GC, then Runtime.getHeapUsage; or runs the full GC alone, so that a
// CPU measurement starts from a collected heap. workerd runs the GC only once the isolate next
// handles a request, so the Worker is nudged with requests until it has.
import WebSocket from 'ws';
import { PendingAnswers } from './answers.mjs';

/** Longest wait for any inspector answer. */
const CALL_TIMEOUT_MS = 15_000;
/** How often an idle worker is nudged while a full GC waits to run. */
const NUDGE_EVERY_MS = 10;

export class HeapProbe {
  /** @type {WebSocket} */
  #ws;
  /** @type {PendingAnswers<unknown>} */
  #pending = new PendingAnswers();

  /** @type {() => Promise<unknown>} */
  #nudge;

  /**
   * @param {WebSocket} ws an open connection to one worker's inspector target
   * @param {() => Promise<unknown>} nudge sends the worker one request
   */
  constructor(ws, nudge) {
    this.#ws = ws;
    this.#nudge = nudge;
    ws.on('message', (data) => {
      const message = JSON.parse(String(data));
      this.#pending.settle(
        message.id,
        message.error ? { error: new Error(`inspector: ${message.error.message}`) } : { result: message.result },
      );
    });
    ws.on('close', () => this.#pending.rejectAll(new Error('inspector connection closed')));
  }

  /**
   * Connects to the inspector target of the named worker, listed at http://127.0.0.1:PORT/json.
   * @param {URL} inspectorUrl ws://127.0.0.1:PORT from Miniflare#getInspectorURL
   * @param {string} workerName
   * @param {() => Promise<unknown>} nudge sends the worker one request
   */
  static async connect(inspectorUrl, workerName, nudge) {
    const response = await fetch(`http://127.0.0.1:${inspectorUrl.port}/json`, { signal: AbortSignal.timeout(CALL_TIMEOUT_MS) });
    const targets = /** @type {Array<{ id: string, webSocketDebuggerUrl: string }>} */ (await response.json());
    const target = targets.find((t) => t.id === `core:user:${workerName}`);
    if (!target) throw new Error(`no inspector target for worker ${workerName} (${targets.map((t) => t.id).join(', ')})`);
    const ws = new WebSocket(target.webSocketDebuggerUrl);
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('inspector: connection timed out')), CALL_TIMEOUT_MS);
      ws.once('open', () => {
        clearTimeout(timer);
        resolve(undefined);
      });
      ws.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    return new HeapProbe(ws, nudge);
  }

  /**
   * @param {string} method
   * @returns {Promise<unknown>}
   */
  #call(method) {
    const { id, answer } = this.#pending.expect(CALL_TIMEOUT_MS, `inspector: ${method} timed out`);
    this.#ws.send(JSON.stringify({ id, method }));
    return answer;
  }

  /**
   * A full garbage collection of the isolate's heap. workerd runs it once the isolate next handles
   * a request: the worker is nudged, and nudged again every NUDGE_EVERY_MS until the GC is done
   * (one nudge is enough under load, not always when the worker is idle).
   * @returns {Promise<void>}
   */
  async collect() {
    let done = false;
    const collected = this.#call('HeapProfiler.collectGarbage').then(() => {
      done = true;
    });
    // A failure is thrown by the await below; until then it only stops the nudging.
    collected.catch(() => {
      done = true;
    });
    while (!done) {
      await this.#nudge();
      await Promise.race([collected, new Promise((resolve) => setTimeout(resolve, NUDGE_EVERY_MS))]);
    }
    await collected;
  }

  /**
   * Bytes of heap in use after a full garbage collection: what the isolate really holds on to.
   * @returns {Promise<number>}
   */
  async sample() {
    await this.collect();
    const usage = /** @type {{ usedSize: number }} */ (await this.#call('Runtime.getHeapUsage'));
    return usage.usedSize;
  }

  close() {
    this.#ws.close();
  }
}
