/** The systems the suite can drive, by the name the command line uses. */
import { kinesaliteFactory } from './adapters/kinesalite.js';
import { natsFactory } from './adapters/nats.js';
import { redisFactory } from './adapters/redis.js';
import { shardlineFactory } from './adapters/shardline.js';
import type { SystemFactory } from './types.js';

export const SYSTEMS: ReadonlyMap<string, SystemFactory> = new Map(
  [shardlineFactory, redisFactory, natsFactory, kinesaliteFactory].map((factory) => [factory.name, factory]),
);

export function systemNamed(name: string): SystemFactory {
  const factory = SYSTEMS.get(name);
  if (factory === undefined) throw new Error(`unknown system "${name}" (known: ${[...SYSTEMS.keys()].join(', ')})`);
  return factory;
}
