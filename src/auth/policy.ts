import assert from 'node:assert';
import { MalformedPolicyDocumentException } from '../errors.js';
import {
  Condition,
  parseTemplate,
  VENDOR_REASON,
  WildcardSet,
  type ContextValue,
  type Fail,
  type JsonPath,
  type ParseEnv,
  type RequestContext,
} from './policy_conditions.js';

/*
 * IAM identity-based policies: a document is parsed once into statements whose patterns and
 * conditions are compiled, then evaluate() decides requests with IAM's logic (docs.aws.amazon.com/
 * IAM/latest/UserGuide/reference_policies_evaluation-logic.html, for identity policies alone):
 * denied by default, any matching Deny wins over every Allow, and otherwise allowed when some
 * Allow matches. A statement matches when its action, its resource and its condition all do.
 */

export type { ContextValue } from './policy_conditions.js';

export interface Statement {
  readonly sid?: string;
  readonly effect: 'Allow' | 'Deny';
  /** Action, or NotAction when `not`. */
  readonly action: StatementTarget;
  /** Resource, or NotResource when `not`. */
  readonly resource: StatementTarget;
  readonly condition: Condition;
}

/** An Action/NotAction or Resource/NotResource element: the patterns as written and compiled. */
export interface StatementTarget {
  readonly written: readonly string[];
  readonly not: boolean;
  readonly patterns: WildcardSet;
}

export interface Policy {
  readonly name: string;
  readonly statements: readonly Statement[];
}

export interface AuthorizationRequest {
  readonly action: string;
  readonly resource: string;
  readonly principalArn: string;
  /** Condition keys, named case-insensitively as in IAM; a key that is absent is not in the request context. */
  readonly context: Readonly<Record<string, ContextValue | undefined>>;
}

export interface MatchedStatement {
  readonly policy: string;
  readonly index: number;
  readonly sid?: string;
  readonly effect: 'Allow' | 'Deny';
}

export interface Decision {
  readonly allowed: boolean;
  readonly reason: 'allowed' | 'explicit-deny' | 'implicit-deny';
  /** Every statement that applied to the request (action, resource and conditions all matched), in policy order. */
  readonly matched: readonly MatchedStatement[];
}

// ---- parsing ----

const VERSIONS_WITH_VARIABLES = new Map([
  ['2012-10-17', true],
  ['2008-10-17', false],
]);
const DOCUMENT_MEMBERS = ['Version', 'Id', 'Statement'];
const STATEMENT_MEMBERS = ['Sid', 'Effect', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition'];
// IAM's own checks and words for Sids and principals in an identity policy.
const SID = /^[0-9A-Za-z]*$/;
const SID_REASON = 'Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*';
const SID_UNIQUE_REASON = 'Statement IDs (SID) in a single policy must be unique.';
const PRINCIPAL_REASON = 'Policy document should not specify a principal.';
const ACTION = /^(?:\*|[A-Za-z0-9-]+:[^\s:]+)$/;
const RESOURCE = /^(?:\*|arn:.+)$/s;

/** `Statement[1].Action`, `Statement[0].Condition.StringEquals.aws:username`. */
export function describePath(path: JsonPath): string {
  return path.map((step, i) => (typeof step === 'number' ? `[${step}]` : i === 0 ? step : `.${step}`)).join('');
}

function defaultFail(name: string): Fail {
  return (path, reason) =>
    new MalformedPolicyDocumentException(
      path.length === 0 ? `policy ${name}: ${reason}` : `policy ${name}: ${describePath(path)}: ${reason}`,
    );
}

/**
 * Parses and checks an identity policy (an object, or its JSON text). Anything IAM would refuse,
 * and a few things it would accept but that cannot mean what their author wanted (an empty
 * list, an unknown member), fail with the JSON path of the member at fault.
 */
export function parsePolicy(name: string, document: unknown, fail: Fail = defaultFail(name)): Policy {
  const root = objectAt(typeof document === 'string' ? jsonOf(document, fail) : document, [], fail, 'a policy document is a JSON object');
  checkMembers(root, [], DOCUMENT_MEMBERS, fail);
  const env: ParseEnv = { fail, variables: versionHasVariables(root['Version'], fail) };
  if (root['Id'] !== undefined && typeof root['Id'] !== 'string') throw fail(['Id'], 'an Id is a string');
  const raw = root['Statement'];
  if (raw === undefined) throw fail([], 'a policy has a Statement');
  if (Array.isArray(raw) && raw.length === 0) throw fail(['Statement'], 'an empty list');
  // A single statement may stand without a list; its members' paths then have no index.
  const entries: [unknown, JsonPath][] = Array.isArray(raw) ? raw.map((entry, i) => [entry, ['Statement', i]]) : [[raw, ['Statement']]];
  const statements = entries.map(([entry, at]) => parseStatement(entry, at, env));
  checkSidsUnique(statements, entries, fail);
  return { name, statements };
}

function jsonOf(text: string, fail: Fail): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw fail([], `not JSON: ${(error as Error).message}`);
  }
}

function objectAt(value: unknown, at: JsonPath, fail: Fail, reason: string): Readonly<Record<string, unknown>> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw fail(at, reason);
  return value as Readonly<Record<string, unknown>>;
}

function checkMembers(object: Readonly<Record<string, unknown>>, at: JsonPath, known: readonly string[], fail: Fail): void {
  for (const member of Object.keys(object)) {
    if (!known.includes(member)) throw fail([...at, member], `unknown member (known: ${known.join(', ')})`);
  }
}

/** Absent means 2008-10-17, as in IAM: `${...}` is then text, not a policy variable. */
function versionHasVariables(version: unknown, fail: Fail): boolean {
  if (version === undefined) return false;
  const variables = typeof version === 'string' ? VERSIONS_WITH_VARIABLES.get(version) : undefined;
  if (variables === undefined) throw fail(['Version'], 'Version is "2012-10-17" or "2008-10-17"');
  return variables;
}

function parseStatement(raw: unknown, at: JsonPath, env: ParseEnv): Statement {
  const { fail } = env;
  const statement = objectAt(raw, at, fail, 'a statement is an object');
  for (const principal of ['Principal', 'NotPrincipal']) if (principal in statement) throw fail([...at, principal], PRINCIPAL_REASON);
  checkMembers(statement, at, STATEMENT_MEMBERS, fail);
  const sid = statement['Sid'];
  if (sid !== undefined && (typeof sid !== 'string' || !SID.test(sid))) throw fail([...at, 'Sid'], SID_REASON);
  const effect = statement['Effect'];
  if (effect === undefined) throw fail(at, 'a statement has an Effect (Allow or Deny)');
  if (effect !== 'Allow' && effect !== 'Deny') throw fail([...at, 'Effect'], 'Effect is Allow or Deny');
  const action = target(statement, at, ['Action', 'NotAction'], env, parseAction);
  const resource = target(statement, at, ['Resource', 'NotResource'], env, parseResource);
  const condition =
    statement['Condition'] === undefined ? Condition.NONE : Condition.parse(statement['Condition'], [...at, 'Condition'], env);
  return { ...(sid === undefined ? {} : { sid }), effect, action, resource, condition };
}

type PatternParser = (patterns: readonly string[], paths: readonly JsonPath[], env: ParseEnv) => WildcardSet;

/** Exactly one of a pair (Action/NotAction, Resource/NotResource), a string or a non-empty list of them. */
function target(
  statement: Readonly<Record<string, unknown>>,
  at: JsonPath,
  [member, notMember]: readonly [string, string],
  env: ParseEnv,
  parse: PatternParser,
): StatementTarget {
  const has = statement[member] !== undefined;
  const hasNot = statement[notMember] !== undefined;
  if (has && hasNot) throw env.fail([...at, notMember], `a statement has ${member} or ${notMember}, not both`);
  if (!has && !hasNot) throw env.fail(at, `a statement has ${member} or ${notMember}`);
  const name = has ? member : notMember;
  const where = [...at, name];
  const raw = statement[name];
  if (Array.isArray(raw) && raw.length === 0) throw env.fail(where, 'an empty list');
  const list: readonly unknown[] = Array.isArray(raw) ? raw : [raw];
  const paths = list.map((_, i) => (Array.isArray(raw) ? [...where, i] : where));
  const written = list.map((value, i) => {
    if (typeof value !== 'string') throw env.fail(paths[i] ?? where, `${name} is a string or a list of strings`);
    return value;
  });
  return { written, not: !has, patterns: parse(written, paths, env) };
}

/** Actions take no policy variables (IAM allows them in Resource and Condition only) and match case-insensitively. */
const parseAction: PatternParser = (actions, paths, env) => {
  const templates = actions.map((action, i) => {
    if (!ACTION.test(action)) throw env.fail(paths[i] ?? [], VENDOR_REASON);
    return parseTemplate(action, paths[i] ?? [], { ...env, variables: false });
  });
  return new WildcardSet(templates, true);
};

/**
 * Resources match case-sensitively, `*` and `?` over the whole ARN. IAM recommends wildcards
 * within one colon-separated segment and lets a segment's trailing `*` run past colons; matching
 * the whole string is that, and it is what lets `.../stream/orders*` cover the stream's consumers
 * (`.../stream/orders/consumer/c1:1700000000`).
 */
const parseResource: PatternParser = (resources, paths, env) => {
  const templates = resources.map((resource, i) => {
    if (!RESOURCE.test(resource))
      throw env.fail(paths[i] ?? [], 'a resource is "*" or an ARN (arn:partition:service:region:account:resource)');
    return parseTemplate(resource, paths[i] ?? [], env);
  });
  return new WildcardSet(templates);
};

function checkSidsUnique(statements: readonly Statement[], entries: readonly [unknown, JsonPath][], fail: Fail): void {
  const seen = new Set<string>();
  statements.forEach((statement, i) => {
    if (statement.sid === undefined || statement.sid === '') return;
    if (seen.has(statement.sid)) throw fail([...(entries[i]?.[1] ?? []), 'Sid'], SID_UNIQUE_REASON);
    seen.add(statement.sid);
  });
}

// ---- evaluation ----

/**
 * The request's context keys, lowercased once per request. aws:PrincipalArn is the request's
 * principal when the caller did not give it: IAM has it in every request context.
 */
function contextOf(request: AuthorizationRequest): RequestContext {
  const ctx = new Map<string, ContextValue>();
  for (const [key, value] of Object.entries(request.context)) if (value !== undefined) ctx.set(key.toLowerCase(), value);
  if (!ctx.has('aws:principalarn')) ctx.set('aws:principalarn', request.principalArn);
  return ctx;
}

function applies(statement: Statement, action: string, resource: string, ctx: RequestContext): boolean {
  if (statement.action.not === statement.action.patterns.matches(action, ctx)) return false;
  if (statement.resource.not === statement.resource.patterns.matches(resource, ctx)) return false;
  return statement.condition.holds(ctx);
}

/** Decides a request against identity policies; `matched` names every statement that applied. */
export function evaluate(policies: readonly Policy[], request: AuthorizationRequest): Decision {
  const ctx = contextOf(request);
  const action = request.action.toLowerCase();
  const matched: MatchedStatement[] = [];
  for (const policy of policies) {
    policy.statements.forEach((statement, index) => {
      if (!applies(statement, action, request.resource, ctx)) return;
      const { sid, effect } = statement;
      matched.push({ policy: policy.name, index, ...(sid === undefined ? {} : { sid }), effect });
    });
  }
  if (matched.some((statement) => statement.effect === 'Deny')) return { allowed: false, reason: 'explicit-deny', matched };
  if (matched.length > 0) return { allowed: true, reason: 'allowed', matched };
  return { allowed: false, reason: 'implicit-deny', matched };
}

/** AWS's AccessDeniedException message for a request that was denied. */
export function accessDeniedMessage(request: AuthorizationRequest, decision: Decision): string {
  assert(!decision.allowed, 'accessDeniedMessage of an allowed request');
  const { principalArn, action, resource } = request;
  const start = `User: ${principalArn} is not authorized to perform: ${action} on resource: ${resource}`;
  if (decision.reason === 'explicit-deny') return `${start} with an explicit deny in an identity-based policy`;
  return `${start} because no identity-based policy allows the ${action} action`;
}
