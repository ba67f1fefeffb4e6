import { useEffect, useState } from 'preact/hooks';

/*
 * The console's pages, by the URL's hash (#/streams/orders): the server answers one page, and
 * the hash survives a reload and works with the browser's back button.
 */

export type Route =
  | { readonly page: 'streams' }
  | { readonly page: 'stream'; readonly stream: string }
  | { readonly page: 'consumers'; readonly stream?: string }
  | { readonly page: 'triggers' }
  | { readonly page: 'tail'; readonly stream?: string }
  | { readonly page: 'cost' };

export type PageName = Route['page'];

/** The route a hash names; anything else is the streams page. */
function parseRoute(hash: string): Route {
  const [page, stream] = hash
    .replace(/^#\/?/, '')
    .split('/')
    .map((part) => decodeURIComponent(part));
  const named = stream === undefined || stream === '' ? {} : { stream };
  switch (page) {
    case 'stream':
      return 'stream' in named ? { page: 'stream', stream: named.stream } : { page: 'streams' };
    case 'consumers':
    case 'tail':
      return { page, ...named };
    case 'triggers':
    case 'cost':
      return { page };
    default:
      return { page: 'streams' };
  }
}

export function routeHref(route: Route): string {
  const stream = 'stream' in route && route.stream !== undefined ? `/${encodeURIComponent(route.stream)}` : '';
  return `#/${route.page}${stream}`;
}

export function navigate(route: Route): void {
  location.hash = routeHref(route);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = (): void => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
