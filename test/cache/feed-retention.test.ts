// The key change feed's rows that go away: an isolate that finds rows it never read gone drops
// everything it holds, and rows past the retention are deleted. (A file of its own: the gaps these
// tests leave in the feed would make every other test's isolate start over.)
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { feedWithClock, inserted, latestPosition, newKey, revoke } from '../support/feed';
import { randomId } from '../support/fixtures';

describe('KeyFeed, when rows go', () => {
  it('drops everything when rows it never read are gone', async () => {
    const { clock, feed, sink, droppedAll } = feedWithClock();
    await feed.poll(env.DB, sink);
    const org = randomId();
    const key = await inserted(newKey(org, null));
    await revoke(key);
    const unread = await latestPosition();
    await env.DB.prepare('DELETE FROM key_changes WHERE seq = ?1').bind(unread).run();
    await env.DB.prepare('UPDATE api_keys SET status = ?2 WHERE id = ?1').bind(key.id, 'active').run();
    clock.now += 5_000;
    await feed.poll(env.DB, sink);
    expect(droppedAll(), 'a change was never read').toBe(1);
    expect(feed.fresh).toBe(true);
  });

  it('deletes rows past the retention', async () => {
    const { clock, feed, sink } = feedWithClock();
    await feed.poll(env.DB, sink);
    const org = randomId();
    await env.DB.prepare('INSERT INTO key_changes (secret_hash, organization_id, project_id, changed_at) VALUES (?1, ?2, NULL, ?3)')
      .bind('old', org, Math.floor(Date.now() / 1000) - 2 * 86_400)
      .run();
    clock.now += 3_600_000;
    await feed.poll(env.DB, sink);
    expect(await env.DB.prepare('SELECT count(*) AS n FROM key_changes WHERE secret_hash = ?1').bind('old').first('n')).toBe(0);
  });
});
