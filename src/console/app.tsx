import { useEffect, useRef, useState } from 'preact/hooks';
import type { ConsoleConfig } from './config.js';
import { connectConsole } from './connection.js';
import { ConsumersPage } from './pages/consumers_page.js';
import { CostPage } from './pages/cost_page.js';
import { SignInPage } from './pages/sign_in_page.js';
import { StreamPage } from './pages/stream_page.js';
import { StreamsPage } from './pages/streams_page.js';
import { TailPage } from './pages/tail_page.js';
import { TriggersPage } from './pages/triggers_page.js';
import { routeHref, useRoute, type PageName, type Route } from './router.js';
import { SessionProvider, type Session } from './session.js';
import { ErrorNote } from './ui.js';

/*
 * The console's frame: with auth on, the sign-in form until a connection is made with the
 * credentials given; with auth off, the connection at once. Then the navigation and the page
 * the hash names.
 */

const NAV: ReadonlyArray<{ readonly page: PageName; readonly label: string; readonly route: Route }> = [
  { page: 'streams', label: 'Streams', route: { page: 'streams' } },
  { page: 'consumers', label: 'Consumers', route: { page: 'consumers' } },
  { page: 'triggers', label: 'Triggers and delivery', route: { page: 'triggers' } },
  { page: 'tail', label: 'Live tail', route: { page: 'tail' } },
  { page: 'cost', label: 'Cost', route: { page: 'cost' } },
];

export function App({ config }: { config: ConsoleConfig }) {
  const [session, setSession] = useState<Session | null>(null);
  const signOut = (): void => {
    session?.client.close();
    setSession(null);
  };
  if (session === null)
    return config.auth ? (
      <SignInPage onConnected={(client, identity) => setSession({ client, config, identity })} />
    ) : (
      <Connecting onConnected={(client) => setSession({ client, config, identity: null })} />
    );
  return (
    <SessionProvider session={session}>
      <Shell session={session} onSignOut={signOut} />
    </SessionProvider>
  );
}

function Connecting({ onConnected }: { onConnected: (client: Session['client']) => void }) {
  const [failure, setFailure] = useState<unknown>(undefined);
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    let cancelled = false;
    connectConsole(null).then(
      (client) => (cancelled ? client.close() : onConnected(client)),
      (error: unknown) => cancelled || setFailure(error),
    );
    return () => {
      cancelled = true;
    };
  }, [attempt]);
  return (
    <main class="connecting">
      <h1>shardline console</h1>
      {failure === undefined ? (
        <p role="status">Connecting…</p>
      ) : (
        <>
          <ErrorNote error={failure} context="Could not connect" />
          <button
            type="button"
            onClick={() => {
              setFailure(undefined);
              setAttempt((count) => count + 1);
            }}
          >
            Try again
          </button>
        </>
      )}
    </main>
  );
}

function Shell({ session, onSignOut }: { session: Session; onSignOut: () => void }) {
  const route = useRoute();
  const main = useRef<HTMLElement>(null);
  const firstRoute = useRef(true);
  const href = routeHref(route);
  useEffect(() => {
    // Moving to another page moves the focus to its heading, as a page load would reset it;
    // the first page keeps the browser's own start, so that Tab leads to the navigation.
    if (firstRoute.current) firstRoute.current = false;
    else main.current?.querySelector<HTMLElement>('h1')?.focus();
  }, [href]);
  return (
    <div class="shell">
      <header class="top">
        <span class="brand">shardline</span>
        <nav aria-label="Main">
          <ul>
            {NAV.map((entry) => (
              <li key={entry.page}>
                <a href={routeHref(entry.route)} aria-current={isCurrent(route, entry.page) ? 'page' : undefined}>
                  {entry.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <p class="identity">
          {session.identity === null ? 'auth off' : `signed in as ${session.identity}`}
          {session.identity === null ? null : (
            <button type="button" class="link" onClick={onSignOut}>
              Sign out
            </button>
          )}
        </p>
      </header>
      <main ref={main}>
        <Page route={route} />
      </main>
    </div>
  );
}

function isCurrent(route: Route, page: PageName): boolean {
  return route.page === page || (page === 'streams' && route.page === 'stream');
}

function Page({ route }: { route: Route }) {
  // Keyed by stream, so that a page's state (a tail's rows, a form's input) never carries over to another stream.
  switch (route.page) {
    case 'streams':
      return <StreamsPage />;
    case 'stream':
      return <StreamPage key={route.stream} stream={route.stream} />;
    case 'consumers':
      return <ConsumersPage key={route.stream ?? ''} stream={route.stream} />;
    case 'triggers':
      return <TriggersPage />;
    case 'tail':
      return <TailPage key={route.stream ?? ''} stream={route.stream} />;
    case 'cost':
      return <CostPage />;
  }
}
