import { useEffect, useRef, useState, type Inputs } from 'preact/hooks';

/*
 * A value the page reads again and again (a list of streams, a group's leases): loaded at once,
 * then every `intervalMs` after the previous load ended, so loads never overlap however slow the
 * server. A failed load keeps the last value and reports its error until a load succeeds.
 * `refresh` loads again now (after an action changed what is shown).
 */

export interface Polled<T> {
  readonly value: T | undefined;
  readonly error: unknown;
  readonly refresh: () => void;
}

export function usePoll<T>(load: () => Promise<T>, intervalMs: number, inputs: Inputs = []): Polled<T> {
  const [value, setValue] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [generation, setGeneration] = useState(0);
  const latestLoad = useRef(load);
  latestLoad.current = load;
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async (): Promise<void> => {
      try {
        const loaded = await latestLoad.current();
        if (stopped) return;
        setValue(() => loaded);
        setError(undefined);
      } catch (failure) {
        if (!stopped) setError(() => failure);
      }
      if (!stopped) timer = setTimeout(() => void run(), intervalMs);
    };
    void run();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
    // The caller's inputs restart the polling; `load` itself changes on every render.
  }, [intervalMs, generation, ...inputs]);
  return { value, error, refresh: () => setGeneration((count) => count + 1) };
}
