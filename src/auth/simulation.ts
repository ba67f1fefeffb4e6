import { InvalidArgumentException, ResourceNotFoundException } from '../errors.js';
import type { AccessControl, Caller, Origin } from './access_control.js';
import type { ContextValue } from './policy.js';

/*
 * SimulateAuthorization (docs/SECURITY.md), IAM's SimulatePrincipalPolicy for one request: what
 * an identity's policies decide for an action on a resource, and which statements decided it.
 * Request: { Action, Resource, IdentityName? (default: the caller), Context? (condition keys) }.
 */

export interface SimulationResult {
  readonly AuthEnabled: boolean;
  readonly Allowed: boolean;
  readonly Decision: 'allowed' | 'explicit-deny' | 'implicit-deny';
  readonly PrincipalArn: string;
  readonly MatchedStatements: readonly { PolicyName: string; StatementIndex: number; Sid?: string; Effect: 'Allow' | 'Deny' }[];
  readonly Message?: string;
}

export function simulateAuthorization(access: AccessControl, caller: Caller, body: unknown, origin: Origin): SimulationResult {
  const request = (body ?? {}) as Record<string, unknown>;
  const { Action: action, Resource: resource, IdentityName: identityName, Context: context } = request;
  if (typeof action !== 'string' || typeof resource !== 'string')
    throw new InvalidArgumentException('SimulateAuthorization needs Action (e.g. kinesis:PutRecord) and Resource (an ARN, or *)');
  if (context !== undefined && (typeof context !== 'object' || context === null || Array.isArray(context)))
    throw new InvalidArgumentException('Context is a map of condition keys to values');
  if (!access.enabled)
    return { AuthEnabled: false, Allowed: true, Decision: 'allowed', PrincipalArn: caller.identity.arn, MatchedStatements: [] };
  const identity = typeof identityName === 'string' ? access.credentials!.identityNamed(identityName) : caller.identity;
  if (identity === undefined) throw new ResourceNotFoundException(`no identity ${String(identityName)} in the credentials file`);
  const simulation = access.simulate(identity, action, resource, origin, (context ?? {}) as Record<string, ContextValue>);
  return {
    AuthEnabled: true,
    Allowed: simulation.allowed,
    Decision: simulation.reason,
    PrincipalArn: identity.arn,
    MatchedStatements: simulation.matched.map((statement) => ({
      PolicyName: statement.policy,
      StatementIndex: statement.index,
      ...(statement.sid === undefined ? {} : { Sid: statement.sid }),
      Effect: statement.effect,
    })),
    ...(simulation.message === undefined ? {} : { Message: simulation.message }),
  };
}
