/** How the tests start Debian's Chromium under playwright-core (apt-get install chromium). */
export const CHROMIUM_PATH = '/usr/bin/chromium';
// Without the background-networking flags Chromium dials out at start, and this machine's
// closed network refuses it.
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
