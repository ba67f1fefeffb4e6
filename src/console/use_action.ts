import { useState } from 'preact/hooks';

/*
 * A button's operation (create, delete, split, ...): while it runs its button is disabled; its
 * outcome, done or the server's typed error (AccessDeniedException when the identity may not),
 * stays on the page until the next action.
 */

export type ActionOutcome = { readonly done: string } | { readonly failed: unknown } | null;

export interface Action {
  readonly pending: boolean;
  readonly outcome: ActionOutcome;
  /** Runs `task`; `done` is what the page says when it succeeds. Resolves to whether it did. */
  run(done: string, task: () => Promise<unknown>): Promise<boolean>;
}

export function useAction(): Action {
  const [pending, setPending] = useState(false);
  const [outcome, setOutcome] = useState<ActionOutcome>(null);
  return {
    pending,
    outcome,
    async run(done, task) {
      setPending(true);
      setOutcome(null);
      try {
        await task();
        setOutcome({ done });
        return true;
      } catch (error) {
        setOutcome({ failed: error });
        return false;
      } finally {
        setPending(false);
      }
    },
  };
}
