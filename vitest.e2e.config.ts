// The browser tests (test/e2e): plain Node, not the Workers pool. Each file starts its own local
// service (wrangler dev, as npm start runs it) and drives Debian's Chromium with playwright-core.
// Files run one after another: two services and two browsers at once are too much for small CI
// machines, and every file is independent of the others.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'e2e',
    include: ['test/e2e/**/*.e2e.mts'],
    environment: 'node',
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 90_000,
    hookTimeout: 180_000,
    // A page under a loaded CI machine can take seconds to render what a poll waits for: wait up
    // to 10 s (the default 1 s made a test fail while another heavy job shared the two cores).
    expect: { poll: { timeout: 10_000, interval: 100 } },
  },
});
