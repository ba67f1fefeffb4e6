import type { ComponentChildren } from 'preact';
import { errorText } from './format.js';
import type { Action } from './use_action.js';

/*
 * The few pieces every page uses: its heading, an error, an action's outcome, a section.
 */

/** A page's one h1; focusable from script, so that moving to a page can move the focus to it. */
export function PageHeading({ children }: { children: ComponentChildren }) {
  return (
    <h1 tabIndex={-1} class="page-heading">
      {children}
    </h1>
  );
}

/** A failure, announced as it appears. */
export function ErrorNote({ error, context }: { error: unknown; context?: string }) {
  if (error === undefined) return null;
  return (
    <p role="alert" class="error">
      {context === undefined ? '' : `${context}: `}
      {errorText(error)}
    </p>
  );
}

/** The status line is there before anything is done, so that screen readers hear what appears in it. */
export function ActionStatus({ action }: { action: Action }) {
  const { outcome } = action;
  return (
    <>
      <p role="status" class="done">
        {outcome !== null && 'done' in outcome ? outcome.done : ''}
      </p>
      {outcome !== null && 'failed' in outcome ? <ErrorNote error={outcome.failed} /> : null}
    </>
  );
}

export function Section({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <section>
      <h2>{title}</h2>
      {children}
    </section>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}
