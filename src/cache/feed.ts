// The key change feed as an isolate follows it (README: "Revocation window"). Every
// KEY_FEED_SECONDS a request starts, after its response, one read of the changes after this
// isolate's cursor (src/db/key-changes.ts) and the isolate drops what they name. While its last
// successful read started less than two intervals ago, the isolate knows every change older
// than that, so a key it verified needs no read of its own to stay trusted: it waits on storage
// only when it first meets a key. A KV record read from storage is judged against the changes the
// isolate remembers (a minute or two of them): one made after the record's D1 read means the
// record is stale, and D1 answers instead.
import { type KeyChange, pruneKeyChanges, readKeyChanges, startReadingKeyChanges } from '../db/key-changes';
import { withDeadline } from '../storage/deadline';

/** Changes read per query; a poll reads on while pages come back full (up to MAX_PAGES). */
const PAGE = 500;
const MAX_PAGES = 10;
/**
 * How many poll intervals after its last successful poll started an isolate still counts as
 * following the feed: one interval between polls, and one more for a slow or failed read.
 */
export const FRESH_INTERVALS = 2;
/** How often (at most) one isolate deletes feed rows past their retention. */
const SWEEP_MS = 3_600_000;

/** Whose records a change concerns: one key (by hash), a project's keys or an organization's. */
function subjectOf(change: Pick<KeyChange, 'secretHash' | 'organizationId' | 'projectId'>): string {
  if (change.secretHash !== null) return `h:${change.secretHash}`;
  return change.projectId === null ? `o:${change.organizationId}` : `p:${change.organizationId}\u0000${change.projectId}`;
}

/** What a record is, for judging it against the changes: its hash, organization and project. */
export type RecordSubject = { secretHash: string; organizationId: string; projectId: string | null };

export type FeedSettings = {
  /** How often a busy isolate reads the feed (KEY_FEED_SECONDS). */
  pollMs: number;
  /** How long changes are remembered for judging records read before them (≥ KV TTL + a margin). */
  memoryMs: number;
  /** Bound on the changes remembered (past it, the oldest are forgotten first). */
  maxRemembered: number;
  /** Longest wait for one feed query. */
  timeoutMs: number;
};

/** What a poll does to the isolate's tier. */
export type FeedSink = {
  /** Drops what `change` names (a key, or every key of an organization or project). */
  drop(change: KeyChange): void;
  /** Drops everything (the isolate fell behind the feed's retention: it cannot know what changed). */
  dropAll(): void;
};

export class KeyFeed {
  /** The last change applied; null until the first poll. */
  #cursor: number | null = null;
  /** Start of the last successful poll (ms since the epoch). */
  #polledAt = Number.NEGATIVE_INFINITY;
  /** Start of the last poll, successful or not. */
  #attemptedAt = Number.NEGATIVE_INFINITY;
  #polling: Promise<void> | null = null;
  #sweptAt = 0;
  /** Changes remembered, in feed order, with when this isolate learnt of them. */
  #recent: Array<{ seq: number; subject: string; at: number }> = [];
  /** Subject → its latest remembered change. */
  readonly #latest = new Map<string, number>();
  /** Every change after this position is remembered (records read before it cannot be judged). */
  #coveredFrom = Number.POSITIVE_INFINITY;

  constructor(
    readonly settings: FeedSettings,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Whether the isolate has followed the feed closely enough to trust records without their own reads. */
  get fresh(): boolean {
    return this.now() - this.#polledAt < FRESH_INTERVALS * this.settings.pollMs;
  }

  /** Whether a poll should start now (none in flight, the interval passed since the last attempt). */
  get due(): boolean {
    return this.#polling === null && this.now() - this.#attemptedAt >= this.settings.pollMs;
  }

  /** The feed position of the last change applied (null before the first poll). */
  get cursor(): number | null {
    return this.#cursor;
  }

  /**
   * Whether a record read at feed position `readAt` may have been changed since: true when a
   * remembered change names it, null when it predates what the isolate remembers (unknown).
   */
  changedSince(record: RecordSubject, readAt: number): boolean | null {
    if (readAt < this.#coveredFrom) return null;
    const after = (subject: string) => (this.#latest.get(subject) ?? -1) > readAt;
    return (
      after(`h:${record.secretHash}`) ||
      after(`o:${record.organizationId}`) ||
      (record.projectId !== null && after(`p:${record.organizationId}\u0000${record.projectId}`))
    );
  }

  /** Reads and applies the changes after the cursor (one poll at a time; concurrent callers share it). */
  poll(db: D1Database, sink: FeedSink): Promise<void> {
    if (this.#polling) return this.#polling;
    const startedAt = this.now();
    this.#attemptedAt = startedAt;
    const polling = this.#read(db, sink, startedAt).finally(() => {
      this.#polling = null;
    });
    this.#polling = polling;
    return polling;
  }

  async #read(db: D1Database, sink: FeedSink, startedAt: number): Promise<void> {
    const { timeoutMs, memoryMs } = this.settings;
    let cursor = this.#cursor;
    let firstPage: KeyChange[] | null = null;
    if (cursor === null) {
      // A new isolate starts a memory's length back, so records read from KV can be judged at
      // once; where it starts and the first page come in one round trip.
      const first = await withDeadline(startReadingKeyChanges(db, Math.floor((startedAt - memoryMs) / 1000), PAGE), timeoutMs);
      cursor = first.start;
      this.#cursor = cursor;
      this.#coveredFrom = cursor;
      firstPage = first.changes;
    }
    for (let page = 0; page < MAX_PAGES; page++) {
      const changes: KeyChange[] = firstPage ?? (await withDeadline(readKeyChanges(db, cursor, PAGE), timeoutMs));
      firstPage = null;
      const first = changes[0];
      if (first && first.seq > cursor + 1) {
        // Rows this isolate never read are gone (the retention): anything it holds may be stale.
        sink.dropAll();
        this.#forgetRemembered(first.seq - 1);
      }
      for (const change of changes) {
        sink.drop(change);
        this.#remember(change, startedAt);
        cursor = change.seq;
        this.#cursor = cursor;
      }
      if (changes.length < PAGE) {
        this.#polledAt = startedAt;
        this.#trim(startedAt);
        if (startedAt - this.#sweptAt >= SWEEP_MS) {
          this.#sweptAt = startedAt;
          await withDeadline(pruneKeyChanges(db, startedAt), timeoutMs);
        }
        return;
      }
    }
    // Still behind after MAX_PAGES: not fresh yet; the next poll reads on.
  }

  #remember(change: KeyChange, at: number): void {
    const subject = subjectOf(change);
    this.#recent.push({ seq: change.seq, subject, at });
    this.#latest.set(subject, change.seq);
  }

  /** Forgets changes learnt more than a memory ago, and the oldest past the bound. */
  #trim(now: number): void {
    let drop = 0;
    while (drop < this.#recent.length) {
      const entry = this.#recent[drop] as { seq: number; subject: string; at: number };
      if (entry.at > now - this.settings.memoryMs && this.#recent.length - drop <= this.settings.maxRemembered) break;
      if (this.#latest.get(entry.subject) === entry.seq) this.#latest.delete(entry.subject);
      this.#coveredFrom = entry.seq;
      drop++;
    }
    if (drop > 0) this.#recent = this.#recent.slice(drop);
  }

  /** Forgets every remembered change; the isolate remembers from `position` on. */
  #forgetRemembered(position: number): void {
    this.#recent = [];
    this.#latest.clear();
    this.#coveredFrom = position;
    this.#cursor = position;
  }
}
