import fs from 'node:fs';
import path from 'node:path';
import type { Engine } from '../engine/engine.js';
import type { HttpRoutes } from '../net/http_routes.js';
import type { PrometheusExporter } from '../metrics/prometheus.js';
import { readPriceTable } from './metrics.js';

/*
 * `serve`'s plain HTTP beside the WebSocket (docs/OPERATIONS.md): `/metrics` for Prometheus,
 * with the consumer groups', triggers' and delivery streams' metrics, and the web console
 * (dist/console, built by `npm run build`), which reads whether to ask for credentials and the
 * price table from /console/config.json.
 */

/** The built console: dist/ sits two levels above dist/cli/ and src/cli/ alike. */
const CONSOLE_DIR = new URL('../../dist/console', import.meta.url);
const DELIVERY_DOCUMENT = 'delivery.json';
const TRIGGERS_DOCUMENT = 'triggers.json';

export interface MetricsServeOptions {
  /** false with --no-console. */
  readonly console: boolean;
  readonly prices?: string;
}

export async function startMetrics(
  engine: Engine,
  options: MetricsServeOptions,
  auth: boolean,
): Promise<{ exporter: PrometheusExporter; routes: HttpRoutes; consoleBuilt: boolean }> {
  const prices = readPriceTable(options.prices === undefined ? undefined : path.resolve(options.prices));
  const { PrometheusExporter } = await import('../metrics/prometheus.js');
  // The registries load at the first scrape that finds them used: not at every start.
  const exporter = PrometheusExporter.create(engine, {
    groups: engine,
    triggers: async () =>
      engine.readDocument(TRIGGERS_DOCUMENT) === null ? null : (await import('../triggers/registry.js')).TriggerRegistry.of(engine),
    delivery: async () =>
      engine.readDocument(DELIVERY_DOCUMENT) === null ? null : (await import('../delivery/registry.js')).DeliveryRegistry.of(engine),
  });
  const dir = CONSOLE_DIR.pathname;
  const consoleBuilt = options.console && fs.existsSync(path.join(dir, 'index.html'));
  const routes: HttpRoutes = {
    metrics: async () => ({ contentType: exporter.contentType, body: await exporter.text() }),
    ...(options.console ? { console: { dir, config: () => ({ auth, prices }) } } : {}),
  };
  return { exporter, routes, consoleBuilt };
}
