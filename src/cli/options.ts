import { InvalidArgumentError, Option } from 'commander';
import type { FsyncPolicy } from '../log/log_config.js';
import { DEFAULT_PORT } from '../net/protocol.js';
import { HASH_KEY_MAX } from '../streams/hash_key.js';

/*
 * Option parsers shared by the commands. A throw here is a usage error (exit 2). Every import
 * is pure: parsing the command line loads neither the client nor the engine.
 */

export const DEFAULT_URL = `ws://127.0.0.1:${DEFAULT_PORT}/`;
export const PORT_MAX = 65_535;

export function integerIn(min: number, max: number): (text: string) => number {
  return (text) => {
    const value = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min || value > max)
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    return value;
  };
}

export function parseFsync(text: string): FsyncPolicy {
  if (text === 'always' || text === 'never') return text;
  if (/^\d+$/.test(text) && Number(text) >= 1) return { intervalMs: Number(text) };
  throw new InvalidArgumentError('expected always, never or an interval in milliseconds');
}

function parseUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidArgumentError('expected a URL such as ws://127.0.0.1:4567/');
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new InvalidArgumentError('expected a ws:// or wss:// URL');
  return text;
}

export function parseHashKey(text: string): string {
  if (!/^\d{1,39}$/.test(text) || BigInt(text) > HASH_KEY_MAX)
    throw new InvalidArgumentError('expected a decimal hash key from 0 to 2^128 - 1');
  return text;
}

/** --url of every client command. */
export function urlOption(): Option {
  return new Option('--url <url>', 'the shardline server').env('SHARDLINE_URL').default(DEFAULT_URL).argParser(parseUrl);
}

export interface ClientOptions {
  readonly url: string;
}
