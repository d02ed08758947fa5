// The browser the browser tests drive: Debian's Chromium package by default (playwright-core
// cannot download its own here), or any Chromium or Chrome named by CHROMIUM_PATH (macOS:
// "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome"); headless and kept off the network.

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

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

export const CHROMIUM_MISSING = process.env.CHROMIUM_PATH
  ? `CHROMIUM_PATH names ${CHROMIUM}, which is missing`
  : `${CHROMIUM} is missing: install Debian's Chromium with apt-get install chromium (as root), or set CHROMIUM_PATH to a Chromium or Chrome binary`;
