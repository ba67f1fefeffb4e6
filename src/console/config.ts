import { parsePriceTable, type PriceTable } from '../metrics/cost.js';

/*
 * What the page needs before it connects, from the server's /console/config.json
 * (src/net/http_routes.ts): whether to ask for credentials, and the price table of the Cost page
 * (`shardline serve --prices`).
 */

export interface ConsoleConfig {
  readonly auth: boolean;
  readonly prices: PriceTable;
}

export async function loadConfig(): Promise<ConsoleConfig> {
  // Relative: config.json sits beside the page, under /console/.
  const response = await fetch('config.json', { cache: 'no-store' });
  if (!response.ok) throw new Error(`config.json: HTTP ${response.status}`);
  const body = (await response.json()) as { auth?: unknown; prices?: unknown };
  return { auth: body.auth === true, prices: parsePriceTable(body.prices) };
}
