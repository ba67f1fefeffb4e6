import { createContext, type ComponentChildren } from 'preact';
import { useContext, useEffect, useMemo, useState } from 'preact/hooks';
import type { ShardlineClient } from '../client/client.js';
import type { EngineMetrics } from '../streams/metrics_types.js';
import type { ConsoleConfig } from './config.js';
import { appendSnapshot } from './metrics_history.js';
import { usePoll } from './use_poll.js';

/*
 * What every page shares once connected: the client, the server's config, and the metrics
 * history, which one poller fills for all the pages (the stream table's records/s, the charts,
 * the consumers' push metrics, the cost estimate) rather than each page polling its own.
 */

export interface Session {
  readonly client: ShardlineClient;
  readonly config: ConsoleConfig;
  /** The access key id signed in with; null with auth off. */
  readonly identity: string | null;
}

export interface MetricsState {
  readonly history: readonly EngineMetrics[];
  /** The last poll's failure (AccessDeniedException without cloudwatch:GetMetricData), until one succeeds. */
  readonly error: unknown;
}

/** GetMetrics every second: the charts' resolution. */
const METRICS_POLL_MS = 1000;

const SessionContext = createContext<Session | null>(null);
const MetricsContext = createContext<MetricsState>({ history: [], error: undefined });

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (session === null) throw new Error('useSession outside a SessionProvider');
  return session;
}

export function useMetrics(): MetricsState {
  return useContext(MetricsContext);
}

export function SessionProvider({ session, children }: { session: Session; children: ComponentChildren }) {
  return (
    <SessionContext.Provider value={session}>
      <MetricsProvider client={session.client}>{children}</MetricsProvider>
    </SessionContext.Provider>
  );
}

function MetricsProvider({ client, children }: { client: ShardlineClient; children: ComponentChildren }) {
  const snapshot = usePoll(() => client.call('GetMetrics', {}), METRICS_POLL_MS, [client]);
  const [history, setHistory] = useState<readonly EngineMetrics[]>([]);
  useEffect(() => {
    if (snapshot.value !== undefined) setHistory((kept) => appendSnapshot(kept, snapshot.value!));
  }, [snapshot.value]);
  const state = useMemo(() => ({ history, error: snapshot.error }), [history, snapshot.error]);
  return <MetricsContext.Provider value={state}>{children}</MetricsContext.Provider>;
}
