/*
 * The fault operations (docs/TESTING.md, "Fault injection"): `Faults.<Op>` over the WebSocket
 * CALL and `ShardlineFaults_20261208.<Op>` on the HTTP port (JSON, signed for `kinesis`), on
 * what embedded users call: the Engine's own methods for the rules, the consumer groups'
 * `expireLease` and `stealLease` for the leases (the engine knows no groups).
 */
import type { Engine } from '../engine/engine.js';
import { expireLease, stealLease, type ExpireLeaseInput, type StealLeaseInput } from '../groups/group_operations.js';
import type { FaultRuleInput } from '../streams/fault_rules.js';

type Request = Readonly<Record<string, unknown>>;
type Operation = (engine: Engine, request: Request) => unknown;

const OPERATIONS: Readonly<Record<string, Operation>> = {
  PutFaultRule: (engine, request) => engine.putFaultRule(request as unknown as FaultRuleInput),
  ListFaultRules: (engine) => engine.listFaultRules(),
  DeleteFaultRule: (engine, request) => (engine.deleteFaultRule(request as { RuleId: string }), {}),
  ClearFaultRules: (engine) => engine.clearFaultRules(),
  ExpireLease: (engine, request) => expireLease(engine, request as unknown as ExpireLeaseInput),
  StealLease: (engine, request) => stealLease(engine, request as unknown as StealLeaseInput),
};

/** The CALL's name of a fault operation. */
export const FAULT_CALL_PREFIX = 'Faults.';
/** The X-Amz-Target prefix on the HTTP port. */
export const FAULT_TARGET_PREFIX = 'ShardlineFaults_20261208.';

export function isFaultOperation(name: string): boolean {
  return Object.hasOwn(OPERATIONS, name);
}

/** Runs a fault operation (its bare name). */
export async function runFaultOperation(engine: Engine, name: string, request: Request): Promise<unknown> {
  return OPERATIONS[name]!(engine, request);
}

/** A CALL operation named `Faults.<Op>`, or undefined. */
export function faultOperation(engine: Engine, name: string): ((request: Request) => Promise<unknown>) | undefined {
  if (!name.startsWith(FAULT_CALL_PREFIX) || !isFaultOperation(name.slice(FAULT_CALL_PREFIX.length))) return undefined;
  return (request) => runFaultOperation(engine, name.slice(FAULT_CALL_PREFIX.length), request ?? {});
}
