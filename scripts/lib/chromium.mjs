// The browser the browser tests drive: Debian's Chromium package (playwright-core cannot download
// its own here), headless and kept off the network.

export const CHROMIUM = '/usr/bin/chromium';

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export const CHROMIUM_MISSING = `${CHROMIUM} is missing: install Debian's Chromium with apt-get install chromium (as root)`;
