import { render, type ComponentChild } from 'preact';
import { App } from './app.js';
import { loadConfig } from './config.js';
import { errorText } from './format.js';
import './console.css';

/*
 * The console's entry point (scripts/build_console.ts bundles from here): read the server's
 * config, then show the console.
 */

const root = document.getElementById('app')!;
// index.html's loading note is static: Preact renders beside what the container holds, not over it.
const show = (page: ComponentChild): void => {
  root.replaceChildren();
  render(page, root);
};
loadConfig().then(
  (config) => show(<App config={config} />),
  (error: unknown) => show(<p role="alert">The console could not start: {errorText(error)}</p>),
);
