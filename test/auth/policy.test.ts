import { describe, expect, it } from 'vitest';
import {
  accessDeniedMessage,
  evaluate,
  parsePolicy,
  type AuthorizationRequest,
  type ContextValue,
  type Policy,
} from '../../src/auth/policy.js';
import { globMatch, VENDOR_REASON } from '../../src/auth/policy_conditions.js';
import { MalformedPolicyDocumentException } from '../../src/errors.js';

// Goal: identity policies decide as IAM does (kinesis-family.md §7.1): default deny, an explicit
// Deny beats every Allow, case-insensitive action wildcards, case-sensitive resource wildcards,
// NotAction/NotResource, each condition operator family with IAM's rule for absent keys,
// IfExists, ForAnyValue/ForAllValues, policy variables; `matched` names exactly the statements
// that applied; the AccessDenied sentences are AWS's; a malformed document fails with the JSON
// path of the member at fault. Method: parsePolicy and evaluate on hand-written documents and
// requests, mostly as tables of (policy part, request, expected); the wildcard matcher also
// against a RegExp oracle on random short patterns.

const ACCOUNT = '000000000000';
const ALICE = `arn:aws:iam::${ACCOUNT}:user/alice`;
const streamArn = (name: string): string => `arn:aws:kinesis:us-east-1:${ACCOUNT}:stream/${name}`;
const CONSUMER = `${streamArn('orders')}/consumer/c1:1700000000`;

/** A policy of `statement` (one or a list); `version: null` leaves Version out. */
function policy(statement: unknown, name = 'p', version: string | null = '2012-10-17'): Policy {
  return parsePolicy(name, { ...(version === null ? {} : { Version: version }), Statement: statement });
}

function request(overrides: Partial<AuthorizationRequest> = {}): AuthorizationRequest {
  return { action: 'kinesis:PutRecord', resource: streamArn('orders'), principalArn: ALICE, context: {}, ...overrides };
}

/** Whether one Allow statement of `members` (over every action and resource unless they say otherwise) allows the request. */
function allows(members: Record<string, unknown>, overrides: Partial<AuthorizationRequest> = {}): boolean {
  const statement = {
    Effect: 'Allow',
    ...('NotAction' in members ? {} : { Action: '*' }),
    ...('NotResource' in members ? {} : { Resource: '*' }),
    ...members,
  };
  return evaluate([policy([statement])], request(overrides)).allowed;
}

/** Whether a Condition holds for a request context. */
function holds(condition: Record<string, unknown>, context: Record<string, ContextValue | undefined>): boolean {
  return allows({ Condition: condition }, { context });
}

describe('decisions', () => {
  it('allows what an Allow statement matches', () => {
    const decision = evaluate(
      [policy({ Sid: 'Write', Effect: 'Allow', Action: 'kinesis:PutRecord', Resource: streamArn('orders') })],
      request(),
    );
    expect(decision).toStrictEqual({
      allowed: true,
      reason: 'allowed',
      matched: [{ policy: 'p', index: 0, sid: 'Write', effect: 'Allow' }],
    });
  });

  it('lets an explicit Deny in one policy beat an Allow in another, whichever comes first', () => {
    const allow = policy([{ Effect: 'Allow', Action: 'kinesis:*', Resource: '*' }], 'allow');
    const deny = policy([{ Sid: 'Frozen', Effect: 'Deny', Action: 'kinesis:Put*', Resource: streamArn('orders') }], 'deny');
    for (const policies of [
      [allow, deny],
      [deny, allow],
    ]) {
      const decision = evaluate(policies, request());
      expect(decision.allowed).toBe(false);
      expect(decision.reason).toBe('explicit-deny');
      expect(decision.matched.map((m) => m.policy)).toEqual(policies.map((p) => p.name));
    }
    expect(evaluate([allow, deny], request({ action: 'kinesis:GetRecords' })).reason).toBe('allowed');
  });

  it('denies by default: no policy, or none that matches', () => {
    expect(evaluate([], request())).toStrictEqual({ allowed: false, reason: 'implicit-deny', matched: [] });
    const other = policy({ Effect: 'Allow', Action: 'kinesis:GetRecords', Resource: '*' });
    expect(evaluate([other], request())).toStrictEqual({ allowed: false, reason: 'implicit-deny', matched: [] });
  });

  it('denies when only a Deny matches, explicitly', () => {
    const decision = evaluate([policy({ Effect: 'Deny', Action: '*', Resource: '*' })], request());
    expect(decision.reason).toBe('explicit-deny');
    expect(decision.matched).toStrictEqual([{ policy: 'p', index: 0, effect: 'Deny' }]);
  });

  it('lists in `matched` exactly the statements whose action, resource and condition all matched, in policy order', () => {
    const first = policy(
      [
        { Sid: 'A', Effect: 'Allow', Action: 'kinesis:Put*', Resource: '*' },
        { Sid: 'WrongAction', Effect: 'Allow', Action: 'kinesis:Get*', Resource: '*' },
        { Sid: 'WrongResource', Effect: 'Deny', Action: '*', Resource: streamArn('payments') },
        { Sid: 'WrongCondition', Effect: 'Deny', Action: '*', Resource: '*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } },
        { Effect: 'Allow', Action: 'kinesis:PutRecord', Resource: streamArn('orders') },
      ],
      'first',
    );
    const second = policy({ Sid: 'B', Effect: 'Allow', Action: '*', Resource: '*' }, 'second');
    const decision = evaluate([first, second], request({ context: { 'aws:SecureTransport': true } }));
    expect(decision.matched).toStrictEqual([
      { policy: 'first', index: 0, sid: 'A', effect: 'Allow' },
      { policy: 'first', index: 4, effect: 'Allow' },
      { policy: 'second', index: 0, sid: 'B', effect: 'Allow' },
    ]);
  });

  it('takes a single statement without a list', () => {
    expect(evaluate([policy({ Effect: 'Allow', Action: '*', Resource: '*' })], request()).allowed).toBe(true);
  });
});

describe('AccessDenied sentences', () => {
  it("are AWS's words for an implicit and for an explicit deny", () => {
    const asked = request({ resource: streamArn('orders') });
    const implicit = evaluate([], asked);
    expect(accessDeniedMessage(asked, implicit)).toBe(
      `User: ${ALICE} is not authorized to perform: kinesis:PutRecord on resource: ${streamArn('orders')} because no identity-based policy allows the kinesis:PutRecord action`,
    );
    const explicit = evaluate([policy({ Effect: 'Deny', Action: '*', Resource: '*' })], asked);
    expect(accessDeniedMessage(asked, explicit)).toBe(
      `User: ${ALICE} is not authorized to perform: kinesis:PutRecord on resource: ${streamArn('orders')} with an explicit deny in an identity-based policy`,
    );
  });

  it('has none for an allowed request', () => {
    const asked = request();
    const allowed = evaluate([policy({ Effect: 'Allow', Action: '*', Resource: '*' })], asked);
    expect(() => accessDeniedMessage(asked, allowed)).toThrow(/allowed/);
  });
});

describe('actions', () => {
  it.each([
    ['kinesis:Get*', 'kinesis:GetRecords', true],
    ['kinesis:Get*', 'kinesis:GetShardIterator', true],
    ['kinesis:Get*', 'kinesis:PutRecord', false],
    ['kinesis:*', 'kinesis:ListShards', true],
    ['kinesis:*', 'shardline:VerifyStream', false],
    ['*', 'shardline:VerifyStream', true],
    ['kinesis:Get?ecords', 'kinesis:GetRecords', true],
    ['kinesis:Get?', 'kinesis:GetRecords', false],
    ['kinesis:PutRecord', 'kinesis:PutRecords', false],
    ['kinesis:*Record', 'kinesis:PutRecord', true],
    ['KINESIS:putrecord', 'kinesis:PutRecord', true],
    ['kinesis:PutRecord', 'Kinesis:PUTRECORD', true],
    ['kinesis:get*', 'KINESIS:GETRECORDS', true],
  ])('%s against %s: %s', (pattern, action, expected) => {
    expect(allows({ Action: pattern }, { action })).toBe(expected);
  });

  it('matches any of a list', () => {
    expect(allows({ Action: ['kinesis:GetRecords', 'kinesis:PutRecord'] })).toBe(true);
    expect(allows({ Action: ['kinesis:GetRecords', 'kinesis:ListShards'] })).toBe(false);
  });

  it('NotAction applies to every action the list does not match', () => {
    const members = { NotAction: ['kinesis:Delete*', 'kinesis:PutRecords'] };
    expect(allows(members, { action: 'kinesis:PutRecord' })).toBe(true);
    expect(allows(members, { action: 'kinesis:DeleteStream' })).toBe(false);
    expect(allows(members, { action: 'KINESIS:putrecords' })).toBe(false);
  });
});

describe('resources', () => {
  it.each([
    [streamArn('orders*'), streamArn('orders'), true],
    [streamArn('orders*'), streamArn('orders-eu'), true],
    [streamArn('orders*'), CONSUMER, true],
    [streamArn('orders*'), streamArn('payments'), false],
    [streamArn('orders'), CONSUMER, false],
    [`${streamArn('orders')}/consumer/*`, CONSUMER, true],
    [`${streamArn('orders')}/consumer/c?:*`, CONSUMER, true],
    [`${streamArn('orders')}/consumer/c?:*`, `${streamArn('orders')}/consumer/c12:1700000000`, false],
    [`arn:aws:kinesis:*:${ACCOUNT}:stream/*`, `arn:aws:kinesis:eu-west-1:${ACCOUNT}:stream/x`, true],
    [`arn:aws:kinesis:*:${ACCOUNT}:stream/*`, `arn:aws:kinesis:eu-west-1:111111111111:stream/x`, false],
    [streamArn('Orders'), streamArn('orders'), false],
    [streamArn('orders'), streamArn('Orders'), false],
    ['*', '*', true],
    ['*', streamArn('anything'), true],
    [streamArn('orders'), '*', false],
    [streamArn('*'), '*', false],
  ])('%s against %s: %s', (pattern, resource, expected) => {
    expect(allows({ Resource: pattern }, { resource })).toBe(expected);
  });

  it('NotResource applies to every resource the list does not match', () => {
    const members = { NotResource: [streamArn('payments*'), streamArn('audit')] };
    expect(allows(members, { resource: streamArn('orders') })).toBe(true);
    expect(allows(members, { resource: streamArn('payments-eu') })).toBe(false);
    expect(allows(members, { resource: streamArn('audit') })).toBe(false);
    expect(allows(members, { resource: '*' })).toBe(true);
  });

  it('decides a pattern of many stars against a long resource without backtracking blow-up', () => {
    const pattern = streamArn(`${'*a'.repeat(12)}*b`);
    expect(allows({ Resource: pattern }, { resource: streamArn('a'.repeat(5000)) })).toBe(false);
    expect(allows({ Resource: pattern }, { resource: streamArn(`${'a'.repeat(5000)}b`) })).toBe(true);
  });
});

describe('glob matching', () => {
  it('agrees with a RegExp oracle on random short patterns', () => {
    let seed = 42;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const pick = (alphabet: string, length: number): string => Array.from({ length }, () => alphabet[random(alphabet.length)]).join('');
    for (let i = 0; i < 5000; i += 1) {
      const glob = pick('ab*?', random(7));
      const subject = pick('ab', random(9));
      const oracle = new RegExp(`^${glob.replaceAll('*', '.*').replaceAll('?', '.')}$`);
      expect(globMatch(glob, subject), `${glob} against ${subject}`).toBe(oracle.test(subject));
    }
  });

  it('reads a backslash as making the next character itself', () => {
    expect(globMatch('a\\*', 'a*')).toBe(true);
    expect(globMatch('a\\*', 'ab')).toBe(false);
    expect(globMatch('a\\?', 'ab')).toBe(false);
    expect(globMatch('a\\\\*', 'a\\xyz')).toBe(true);
  });
});

describe('conditions: strings', () => {
  it.each<[string, Record<string, unknown>, Record<string, ContextValue | undefined>, boolean]>([
    ['StringEquals matches', { StringEquals: { 'aws:username': 'alice' } }, { 'aws:username': 'alice' }, true],
    ['StringEquals is case-sensitive in values', { StringEquals: { 'aws:username': 'Alice' } }, { 'aws:username': 'alice' }, false],
    ['StringEquals ORs the values of a key', { StringEquals: { 'aws:username': ['bob', 'alice'] } }, { 'aws:username': 'alice' }, true],
    ['key names are case-insensitive (policy)', { StringEquals: { 'AWS:UserName': 'alice' } }, { 'aws:username': 'alice' }, true],
    ['key names are case-insensitive (request)', { StringEquals: { 'aws:username': 'alice' } }, { 'AWS:USERNAME': 'alice' }, true],
    ['StringEquals with the key absent', { StringEquals: { 'aws:username': 'alice' } }, {}, false],
    ['an undefined context value is absent', { StringEquals: { 'aws:username': 'alice' } }, { 'aws:username': undefined }, false],
    ['StringEqualsIfExists with the key absent', { StringEqualsIfExists: { 'aws:username': 'alice' } }, {}, true],
    ['StringEqualsIfExists with the key present', { StringEqualsIfExists: { 'aws:username': 'alice' } }, { 'aws:username': 'bob' }, false],
    ['StringNotEquals, none equal', { StringNotEquals: { 'aws:username': ['bob', 'carol'] } }, { 'aws:username': 'alice' }, true],
    ['StringNotEquals, one equal', { StringNotEquals: { 'aws:username': ['bob', 'alice'] } }, { 'aws:username': 'alice' }, false],
    ['StringNotEquals with the key absent', { StringNotEquals: { 'aws:username': 'alice' } }, {}, true],
    ['StringNotEqualsIfExists with the key absent', { StringNotEqualsIfExists: { 'aws:username': 'alice' } }, {}, true],
    ['StringEqualsIgnoreCase', { StringEqualsIgnoreCase: { 'aws:username': 'ALICE' } }, { 'aws:username': 'alice' }, true],
    ['StringEqualsIgnoreCase, other value', { StringEqualsIgnoreCase: { 'aws:username': 'ALICE' } }, { 'aws:username': 'bob' }, false],
    ['StringNotEqualsIgnoreCase', { StringNotEqualsIgnoreCase: { 'aws:username': 'ALICE' } }, { 'aws:username': 'alice' }, false],
    ['StringNotEqualsIgnoreCase, other value', { StringNotEqualsIgnoreCase: { 'aws:username': 'ALICE' } }, { 'aws:username': 'bob' }, true],
    ['StringLike with *', { StringLike: { 'aws:username': 'al*' } }, { 'aws:username': 'alice' }, true],
    ['StringLike with ?', { StringLike: { 'aws:username': 'al?ce' } }, { 'aws:username': 'alice' }, true],
    ['StringLike, no match', { StringLike: { 'aws:username': 'b*' } }, { 'aws:username': 'alice' }, false],
    ['StringLike anchors at the start', { StringLike: { 'aws:username': 'ice*' } }, { 'aws:username': 'alice' }, false],
    ['StringLike is case-sensitive', { StringLike: { 'aws:username': 'AL*' } }, { 'aws:username': 'alice' }, false],
    ['StringEquals has no wildcards', { StringEquals: { 'aws:username': 'al*' } }, { 'aws:username': 'alice' }, false],
    ['StringNotLike, no match', { StringNotLike: { 'aws:username': 'b*' } }, { 'aws:username': 'alice' }, true],
    ['StringNotLike, a match', { StringNotLike: { 'aws:username': ['b*', 'a*'] } }, { 'aws:username': 'alice' }, false],
    ['StringNotLike with the key absent', { StringNotLike: { 'aws:username': 'b*' } }, {}, true],
    ['a number in the policy is its text', { StringEquals: { 'aws:ResourceTag/n': 5 } }, { 'aws:ResourceTag/n': '5' }, true],
    ['a boolean in the context is its text', { StringEquals: { 'aws:SecureTransport': 'true' } }, { 'aws:SecureTransport': true }, true],
    ['aws:ResourceTag/<k> matches', { StringEquals: { 'aws:ResourceTag/team': 'blue' } }, { 'aws:ResourceTag/team': 'blue' }, true],
    ['aws:ResourceTag/<k> other value', { StringEquals: { 'aws:ResourceTag/team': 'blue' } }, { 'aws:ResourceTag/team': 'red' }, false],
    ['aws:ResourceTag/<k> absent', { StringEquals: { 'aws:ResourceTag/team': 'blue' } }, { 'aws:ResourceTag/env': 'blue' }, false],
    [
      'aws:ResourceTag/<K> case-insensitive',
      { StringEquals: { 'aws:ResourceTag/Team': 'blue' } },
      { 'aws:resourcetag/team': 'blue' },
      true,
    ],
  ])('%s', (_, condition, context, expected) => {
    expect(holds(condition, context)).toBe(expected);
  });
});

const MAY_FIRST = new Date(Date.UTC(2024, 4, 1, 12, 0, 0));
const MAY_FIRST_EPOCH = MAY_FIRST.getTime() / 1000;

describe('conditions: numbers, dates and booleans', () => {
  it.each<[string, Record<string, unknown>, Record<string, ContextValue | undefined>, boolean]>([
    ['NumericEquals', { NumericEquals: { 'kinesis:n': '10' } }, { 'kinesis:n': 10 }, true],
    ['NumericEquals reads decimals', { NumericEquals: { 'kinesis:n': '10.0' } }, { 'kinesis:n': '10' }, true],
    ['NumericEquals, other', { NumericEquals: { 'kinesis:n': 10 } }, { 'kinesis:n': 11 }, false],
    ['NumericNotEquals', { NumericNotEquals: { 'kinesis:n': [1, 2] } }, { 'kinesis:n': 3 }, true],
    ['NumericNotEquals, one equal', { NumericNotEquals: { 'kinesis:n': [1, 3] } }, { 'kinesis:n': 3 }, false],
    ['NumericNotEquals with the key absent', { NumericNotEquals: { 'kinesis:n': 1 } }, {}, true],
    ['NumericLessThan', { NumericLessThan: { 'kinesis:n': 10 } }, { 'kinesis:n': 9 }, true],
    ['NumericLessThan at the bound', { NumericLessThan: { 'kinesis:n': 10 } }, { 'kinesis:n': 10 }, false],
    ['NumericLessThanEquals at the bound', { NumericLessThanEquals: { 'kinesis:n': 10 } }, { 'kinesis:n': 10 }, true],
    ['NumericLessThanEquals above', { NumericLessThanEquals: { 'kinesis:n': 10 } }, { 'kinesis:n': 11 }, false],
    ['NumericGreaterThan', { NumericGreaterThan: { 'kinesis:n': 10 } }, { 'kinesis:n': 11 }, true],
    ['NumericGreaterThan at the bound', { NumericGreaterThan: { 'kinesis:n': 10 } }, { 'kinesis:n': 10 }, false],
    ['NumericGreaterThanEquals at the bound', { NumericGreaterThanEquals: { 'kinesis:n': 10 } }, { 'kinesis:n': 10 }, true],
    ['NumericGreaterThanEquals below', { NumericGreaterThanEquals: { 'kinesis:n': 10 } }, { 'kinesis:n': 9 }, false],
    ['NumericLessThan with the key absent', { NumericLessThan: { 'kinesis:n': 10 } }, {}, false],
    ['NumericLessThanIfExists with the key absent', { NumericLessThanIfExists: { 'kinesis:n': 10 } }, {}, true],
    ['a value that is no number matches nothing', { NumericLessThan: { 'kinesis:n': 10 } }, { 'kinesis:n': 'few' }, false],
    ['DateLessThan (ISO 8601)', { DateLessThan: { 'aws:CurrentTime': '2024-06-01T00:00:00Z' } }, { 'aws:CurrentTime': MAY_FIRST }, true],
    ['DateLessThan, later', { DateLessThan: { 'aws:CurrentTime': '2024-04-01T00:00:00Z' } }, { 'aws:CurrentTime': MAY_FIRST }, false],
    ['DateLessThan (a date alone)', { DateLessThan: { 'aws:CurrentTime': '2024-05-02' } }, { 'aws:CurrentTime': MAY_FIRST }, true],
    [
      'DateGreaterThan (epoch seconds)',
      { DateGreaterThan: { 'aws:CurrentTime': MAY_FIRST_EPOCH - 1 } },
      { 'aws:CurrentTime': MAY_FIRST },
      true,
    ],
    ['DateGreaterThan, at it', { DateGreaterThan: { 'aws:CurrentTime': MAY_FIRST_EPOCH } }, { 'aws:CurrentTime': MAY_FIRST }, false],
    ['DateEquals (epoch digits)', { DateEquals: { 'aws:CurrentTime': String(MAY_FIRST_EPOCH) } }, { 'aws:CurrentTime': MAY_FIRST }, true],
    ['DateEquals, no zone is UTC', { DateEquals: { 'aws:CurrentTime': '2024-05-01T12:00:00' } }, { 'aws:CurrentTime': MAY_FIRST }, true],
    [
      'DateEquals, with an offset',
      { DateEquals: { 'aws:CurrentTime': '2024-05-01T14:00:00+02:00' } },
      { 'aws:CurrentTime': MAY_FIRST },
      true,
    ],
    [
      'DateEquals, a context string',
      { DateEquals: { 'aws:CurrentTime': MAY_FIRST_EPOCH } },
      { 'aws:CurrentTime': '2024-05-01T12:00:00Z' },
      true,
    ],
    ['DateNotEquals', { DateNotEquals: { 'aws:CurrentTime': '2024-05-01T12:00:01Z' } }, { 'aws:CurrentTime': MAY_FIRST }, true],
    ['DateNotEquals, equal', { DateNotEquals: { 'aws:CurrentTime': '2024-05-01T12:00:00Z' } }, { 'aws:CurrentTime': MAY_FIRST }, false],
    [
      'DateLessThanEquals at it',
      { DateLessThanEquals: { 'aws:CurrentTime': '2024-05-01T12:00:00Z' } },
      { 'aws:CurrentTime': MAY_FIRST },
      true,
    ],
    [
      'DateGreaterThanEquals at it',
      { DateGreaterThanEquals: { 'aws:CurrentTime': '2024-05-01T12:00:00Z' } },
      { 'aws:CurrentTime': MAY_FIRST },
      true,
    ],
    [
      'DateGreaterThanEquals before',
      { DateGreaterThanEquals: { 'aws:CurrentTime': '2024-05-01T12:00:01Z' } },
      { 'aws:CurrentTime': MAY_FIRST },
      false,
    ],
    ['DateLessThan with the key absent', { DateLessThan: { 'aws:CurrentTime': '2030-01-01' } }, {}, false],
    ['DateNotEquals with the key absent', { DateNotEquals: { 'aws:CurrentTime': '2030-01-01' } }, {}, true],
    ['Bool true against "true"', { Bool: { 'aws:SecureTransport': 'true' } }, { 'aws:SecureTransport': true }, true],
    ['Bool true against true', { Bool: { 'aws:SecureTransport': true } }, { 'aws:SecureTransport': true }, true],
    ['Bool, any case', { Bool: { 'aws:SecureTransport': 'TRUE' } }, { 'aws:SecureTransport': 'True' }, true],
    ['Bool true against false', { Bool: { 'aws:SecureTransport': 'true' } }, { 'aws:SecureTransport': false }, false],
    ['Bool false against false', { Bool: { 'aws:SecureTransport': 'false' } }, { 'aws:SecureTransport': false }, true],
    ['Bool with the key absent', { Bool: { 'aws:SecureTransport': 'false' } }, {}, false],
    ['BoolIfExists with the key absent', { BoolIfExists: { 'aws:SecureTransport': 'false' } }, {}, true],
    ['BoolIfExists with the key present', { BoolIfExists: { 'aws:SecureTransport': 'false' } }, { 'aws:SecureTransport': true }, false],
  ])('%s', (_, condition, context, expected) => {
    expect(holds(condition, context)).toBe(expected);
  });
});

describe('conditions: the local time zone', () => {
  it('reads a time without a zone as UTC, whatever the zone of the process', () => {
    const zone = process.env['TZ'];
    process.env['TZ'] = 'America/New_York';
    try {
      expect(holds({ DateEquals: { 'aws:CurrentTime': '2024-05-01T12:00:00' } }, { 'aws:CurrentTime': MAY_FIRST })).toBe(true);
    } finally {
      if (zone === undefined) delete process.env['TZ'];
      else process.env['TZ'] = zone;
    }
  });
});

describe('conditions: addresses, ARNs and Null', () => {
  const userArn = (name: string): string => `arn:aws:iam::${ACCOUNT}:user/${name}`;
  it.each<[string, Record<string, unknown>, Record<string, ContextValue | undefined>, boolean]>([
    ['IpAddress in an IPv4 CIDR', { IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } }, { 'aws:SourceIp': '203.0.113.7' }, true],
    ['IpAddress outside it', { IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } }, { 'aws:SourceIp': '203.0.114.7' }, false],
    ['IpAddress in an IPv6 CIDR', { IpAddress: { 'aws:SourceIp': '2001:DB8::/32' } }, { 'aws:SourceIp': '2001:db8:1::5' }, true],
    ['IpAddress outside it', { IpAddress: { 'aws:SourceIp': '2001:db8::/32' } }, { 'aws:SourceIp': '2001:db9::1' }, false],
    ['IpAddress, one address', { IpAddress: { 'aws:SourceIp': '10.0.0.1' } }, { 'aws:SourceIp': '10.0.0.1' }, true],
    ['IpAddress, v4 and v6 ORed', { IpAddress: { 'aws:SourceIp': ['2001:db8::/32', '10.0.0.0/8'] } }, { 'aws:SourceIp': '10.1.2.3' }, true],
    ['IpAddress, an IPv4-mapped address', { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } }, { 'aws:SourceIp': '::ffff:10.1.2.3' }, true],
    ['IpAddress, a context value that is no address', { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } }, { 'aws:SourceIp': 'local' }, false],
    ['IpAddress with the key absent', { IpAddress: { 'aws:SourceIp': '0.0.0.0/0' } }, {}, false],
    ['NotIpAddress outside', { NotIpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '::1/128'] } }, { 'aws:SourceIp': '192.0.2.1' }, true],
    ['NotIpAddress inside', { NotIpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '::1/128'] } }, { 'aws:SourceIp': '::1' }, false],
    ['NotIpAddress with the key absent', { NotIpAddress: { 'aws:SourceIp': '10.0.0.0/8' } }, {}, true],
    ['ArnEquals', { ArnEquals: { 'aws:PrincipalArn': userArn('alice') } }, { 'aws:PrincipalArn': userArn('alice') }, true],
    ['ArnEquals, other', { ArnEquals: { 'aws:PrincipalArn': userArn('alice') } }, { 'aws:PrincipalArn': userArn('bob') }, false],
    [
      'ArnLike with * in the resource part',
      { ArnLike: { 'aws:PrincipalArn': userArn('*') } },
      { 'aws:PrincipalArn': userArn('bob') },
      true,
    ],
    [
      'ArnLike with * for the account',
      { ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::*:user/bob' } },
      { 'aws:PrincipalArn': userArn('bob') },
      true,
    ],
    ['ArnLike is case-sensitive', { ArnLike: { 'aws:PrincipalArn': userArn('Bob') } }, { 'aws:PrincipalArn': userArn('bob') }, false],
    [
      'ArnLike, the resource part runs past colons',
      { ArnLike: { 'kinesis:arn': streamArn('orders*') } },
      { 'kinesis:arn': CONSUMER },
      true,
    ],
    [
      "ArnLike, a segment's * stays in its segment",
      { ArnLike: { 'kinesis:arn': `arn:aws:kinesis:us-*:${ACCOUNT}:stream/x` } },
      { 'kinesis:arn': `arn:aws:kinesis:us-east-1:extra:${ACCOUNT}:stream/x` },
      false,
    ],
    ['ArnLike, a context value that is no ARN', { ArnLike: { 'kinesis:arn': 'arn:*:*:*:*:*' } }, { 'kinesis:arn': 'arn:aws' }, false],
    ['ArnNotEquals, other', { ArnNotEquals: { 'aws:PrincipalArn': userArn('bob') } }, { 'aws:PrincipalArn': userArn('alice') }, true],
    ['ArnNotLike, a match', { ArnNotLike: { 'aws:PrincipalArn': userArn('a*') } }, { 'aws:PrincipalArn': userArn('alice') }, false],
    ['ArnNotLike with the key absent', { ArnNotLike: { 'kinesis:arn': userArn('a*') } }, {}, true],
    ['ArnLike with the key absent', { ArnLike: { 'kinesis:arn': userArn('*') } }, {}, false],
    ['Null true, the key absent', { Null: { 'aws:TokenIssueTime': 'true' } }, {}, true],
    ['Null true, the key present', { Null: { 'aws:TokenIssueTime': true } }, { 'aws:TokenIssueTime': MAY_FIRST }, false],
    ['Null false, the key present', { Null: { 'aws:TokenIssueTime': 'false' } }, { 'aws:TokenIssueTime': MAY_FIRST }, true],
    ['Null false, the key absent', { Null: { 'aws:TokenIssueTime': 'false' } }, {}, false],
    ['Null true, an empty list', { Null: { 'aws:TagKeys': 'true' } }, { 'aws:TagKeys': [] }, true],
  ])('%s', (_, condition, context, expected) => {
    expect(holds(condition, context)).toBe(expected);
  });
});

describe('conditions: multi-valued keys', () => {
  it.each<[string, Record<string, unknown>, Record<string, ContextValue | undefined>, boolean]>([
    [
      'ForAllValues, every value allowed',
      { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['env', 'team'] } },
      { 'aws:TagKeys': ['env'] },
      true,
    ],
    [
      'ForAllValues, one not allowed',
      { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['env', 'team'] } },
      { 'aws:TagKeys': ['env', 'cost'] },
      false,
    ],
    ['ForAllValues, the key absent', { 'ForAllValues:StringEquals': { 'aws:TagKeys': 'env' } }, {}, true],
    ['ForAllValues, an empty list', { 'ForAllValues:StringEquals': { 'aws:TagKeys': 'env' } }, { 'aws:TagKeys': [] }, true],
    ['ForAnyValue, one value matches', { 'ForAnyValue:StringEquals': { 'aws:TagKeys': 'env' } }, { 'aws:TagKeys': ['cost', 'env'] }, true],
    ['ForAnyValue, none matches', { 'ForAnyValue:StringEquals': { 'aws:TagKeys': 'env' } }, { 'aws:TagKeys': ['cost'] }, false],
    ['ForAnyValue, the key absent', { 'ForAnyValue:StringEquals': { 'aws:TagKeys': 'env' } }, {}, false],
    ['ForAnyValue, an empty list', { 'ForAnyValue:StringEquals': { 'aws:TagKeys': 'env' } }, { 'aws:TagKeys': [] }, false],
    ['ForAnyValue...IfExists, the key absent', { 'ForAnyValue:StringEqualsIfExists': { 'aws:TagKeys': 'env' } }, {}, true],
    ['ForAnyValue:StringLike', { 'ForAnyValue:StringLike': { 'aws:TagKeys': 'team*' } }, { 'aws:TagKeys': ['cost', 'team-a'] }, true],
    [
      'ForAllValues:StringNotLike (IAM example), no key1',
      { 'ForAllValues:StringNotLike': { 'aws:TagKeys': 'key1*' } },
      { 'aws:TagKeys': ['key2:audit'] },
      true,
    ],
    [
      'ForAllValues:StringNotLike, a key1',
      { 'ForAllValues:StringNotLike': { 'aws:TagKeys': 'key1*' } },
      { 'aws:TagKeys': ['key2:a', 'key1:legal'] },
      false,
    ],
    ['ForAllValues:StringNotLike, absent', { 'ForAllValues:StringNotLike': { 'aws:TagKeys': 'key1*' } }, {}, true],
    [
      'ForAnyValue:StringNotLike, one not like',
      { 'ForAnyValue:StringNotLike': { 'aws:TagKeys': 'key1*' } },
      { 'aws:TagKeys': ['key1a', 'key2'] },
      true,
    ],
    [
      'ForAnyValue:StringNotLike, all like',
      { 'ForAnyValue:StringNotLike': { 'aws:TagKeys': 'key1*' } },
      { 'aws:TagKeys': ['key1a', 'key1b'] },
      false,
    ],
    ['ForAnyValue:StringNotLike, absent', { 'ForAnyValue:StringNotLike': { 'aws:TagKeys': 'key1*' } }, {}, false],
    ['a qualifier on a single value', { 'ForAllValues:StringEquals': { 'aws:username': 'alice' } }, { 'aws:username': 'bob' }, false],
    ['no qualifier: any value matches', { StringEquals: { 'aws:TagKeys': 'env' } }, { 'aws:TagKeys': ['cost', 'env'] }, true],
    ['no qualifier, negated: one value matches', { StringNotEquals: { 'aws:TagKeys': 'env' } }, { 'aws:TagKeys': ['cost', 'env'] }, false],
    ['no qualifier, negated: none matches', { StringNotEquals: { 'aws:TagKeys': 'env' } }, { 'aws:TagKeys': ['cost'] }, true],
    ['no qualifier, an empty list is absent', { StringNotEquals: { 'aws:TagKeys': 'env' } }, { 'aws:TagKeys': [] }, true],
  ])('%s', (_, condition, context, expected) => {
    expect(holds(condition, context)).toBe(expected);
  });

  it('ANDs operators and the keys within one, and ORs the values of a key', () => {
    const condition = {
      StringEquals: { 'aws:username': ['alice', 'bob'], 'aws:RequestedRegion': 'us-east-1' },
      Bool: { 'aws:SecureTransport': true },
    };
    const context = { 'aws:username': 'bob', 'aws:RequestedRegion': 'us-east-1', 'aws:SecureTransport': true };
    expect(holds(condition, context)).toBe(true);
    expect(holds(condition, { ...context, 'aws:username': 'carol' })).toBe(false);
    expect(holds(condition, { ...context, 'aws:RequestedRegion': 'eu-west-1' })).toBe(false);
    expect(holds(condition, { ...context, 'aws:SecureTransport': false })).toBe(false);
  });

  it('a Deny on insecure transport stops an Allow over HTTP only', () => {
    const policies = [
      policy([
        { Effect: 'Allow', Action: 'kinesis:*', Resource: '*' },
        { Sid: 'TlsOnly', Effect: 'Deny', Action: '*', Resource: '*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } },
      ]),
    ];
    expect(evaluate(policies, request({ context: { 'aws:SecureTransport': true } })).reason).toBe('allowed');
    expect(evaluate(policies, request({ context: { 'aws:SecureTransport': false } })).reason).toBe('explicit-deny');
  });
});

describe('policy variables', () => {
  const own = { Resource: streamArn('${aws:username}-*') };

  it('substitutes ${aws:username} in a resource', () => {
    expect(allows(own, { resource: streamArn('alice-orders'), context: { 'aws:username': 'alice' } })).toBe(true);
    expect(allows(own, { resource: streamArn('bob-orders'), context: { 'aws:username': 'alice' } })).toBe(false);
  });

  it('makes a value whose variable has no value match nothing', () => {
    expect(allows(own, { resource: streamArn('alice-orders') })).toBe(false);
    expect(allows({ NotResource: streamArn('${aws:username}') }, { resource: streamArn('alice') })).toBe(true);
    const list = { Resource: streamArn('${aws:TagKeys}') };
    expect(allows(list, { resource: streamArn('env'), context: { 'aws:TagKeys': ['env'] } })).toBe(false);
  });

  it('matches what a variable stands for as itself, never as wildcards', () => {
    const context = { 'aws:username': 'a*' };
    expect(allows(own, { resource: streamArn('abc-1'), context })).toBe(false);
    expect(allows(own, { resource: streamArn('a*-1'), context })).toBe(true);
  });

  it('substitutes tags, the principal ARN and any context key, in resources and condition values', () => {
    const team = { Resource: streamArn('${aws:PrincipalTag/team}-*') };
    expect(allows(team, { resource: streamArn('blue-1'), context: { 'aws:PrincipalTag/team': 'blue' } })).toBe(true);
    expect(allows(team, { resource: streamArn('red-1'), context: { 'aws:PrincipalTag/team': 'blue' } })).toBe(false);
    const owner = { Condition: { StringEquals: { 'aws:ResourceTag/owner': '${aws:username}' } } };
    expect(allows(owner, { context: { 'aws:ResourceTag/owner': 'alice', 'aws:username': 'alice' } })).toBe(true);
    expect(allows(owner, { context: { 'aws:ResourceTag/owner': 'bob', 'aws:username': 'alice' } })).toBe(false);
    const self = { Condition: { StringLike: { 'aws:ResourceTag/owner': '${aws:PrincipalArn}*' } } };
    expect(allows(self, { context: { 'aws:ResourceTag/owner': `${ALICE}/x` } })).toBe(true);
    expect(allows(self, { context: { 'aws:ResourceTag/owner': 'arn:aws:iam::1:user/bob' } })).toBe(false);
    const arn = { Condition: { ArnEquals: { 'kinesis:arn': '${aws:PrincipalArn}' } } };
    expect(allows(arn, { context: { 'kinesis:arn': ALICE } })).toBe(true);
    const tls = { Condition: { Bool: { 'aws:SecureTransport': '${aws:PrincipalTag/tls}' } } };
    expect(allows(tls, { context: { 'aws:SecureTransport': true, 'aws:PrincipalTag/tls': 'true' } })).toBe(true);
    expect(allows(tls, { context: { 'aws:SecureTransport': false, 'aws:PrincipalTag/tls': 'true' } })).toBe(false);
  });

  it('reads ${*}, ${?} and ${$} as the characters themselves', () => {
    const star = { Resource: streamArn('x${*}') };
    expect(allows(star, { resource: streamArn('x*') })).toBe(true);
    expect(allows(star, { resource: streamArn('xy') })).toBe(false);
    const question = { Resource: streamArn('x${?}') };
    expect(allows(question, { resource: streamArn('x?') })).toBe(true);
    expect(allows(question, { resource: streamArn('xy') })).toBe(false);
    const dollar = { Condition: { StringEquals: { 'aws:username': '${$}{x}' } } };
    expect(allows(dollar, { context: { 'aws:username': '${x}' } })).toBe(true);
  });

  it("uses a variable's default when its key is absent", () => {
    const shared = { Resource: streamArn("${aws:PrincipalTag/team, 'shared'}-*") };
    expect(allows(shared, { resource: streamArn('shared-1') })).toBe(true);
    expect(allows(shared, { resource: streamArn('blue-1'), context: { 'aws:PrincipalTag/team': 'blue' } })).toBe(true);
    expect(allows(shared, { resource: streamArn('shared-1'), context: { 'aws:PrincipalTag/team': 'blue' } })).toBe(false);
  });

  it('are text in a 2008-10-17 policy, and when Version is absent', () => {
    for (const version of ['2008-10-17', null]) {
      const statement = { Effect: 'Allow', Action: '*', Resource: streamArn('${aws:username}') };
      const policies = [policy(statement, 'old', version)];
      const context = { 'aws:username': 'alice' };
      expect(evaluate(policies, request({ resource: streamArn('alice'), context })).allowed).toBe(false);
      expect(evaluate(policies, request({ resource: streamArn('${aws:username}'), context })).allowed).toBe(true);
    }
  });

  it("takes aws:PrincipalArn from the request's principal when the context does not give it", () => {
    const condition = { StringEquals: { 'aws:PrincipalArn': ALICE } };
    expect(allows({ Condition: condition })).toBe(true);
    expect(allows({ Condition: condition }, { principalArn: `arn:aws:iam::${ACCOUNT}:user/bob` })).toBe(false);
    expect(allows({ Condition: condition }, { context: { 'aws:PrincipalArn': `arn:aws:iam::${ACCOUNT}:user/bob` } })).toBe(false);
  });
});

describe('malformed documents', () => {
  class PathError extends Error {
    constructor(
      readonly path: readonly (string | number)[],
      readonly reason: string,
    ) {
      super(reason);
    }
  }
  const failure = (document: unknown): { path: readonly (string | number)[]; reason: string } => {
    try {
      parsePolicy('p', document, (path, reason) => new PathError(path, reason));
    } catch (error) {
      if (error instanceof PathError) return { path: error.path, reason: error.reason };
      throw error;
    }
    throw new Error('parsed');
  };
  const statement = (members: Record<string, unknown>): unknown => ({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: '*', Resource: '*', ...members }],
  });
  const condition = (block: unknown): unknown => statement({ Condition: block });
  const at = (...path: (string | number)[]): (string | number)[] => ['Statement', 0, ...path];
  const operator = (name: string, key = 'aws:username'): (string | number)[] => at('Condition', name, key);

  it.each<[string, unknown, (string | number)[], string | RegExp]>([
    ['not an object', 42, [], 'a policy document is a JSON object'],
    ['a list', [], [], 'a policy document is a JSON object'],
    ['text that is not JSON', '{"Version":', [], /^not JSON/],
    ['an unknown Version', { Version: '2012-10-18', Statement: [] }, ['Version'], 'Version is "2012-10-17" or "2008-10-17"'],
    ['an unknown top-level member', { Statements: [] }, ['Statements'], /^unknown member \(known: Version, Id, Statement\)/],
    ['an Id that is no string', { Id: 5, Statement: [] }, ['Id'], 'an Id is a string'],
    ['no Statement', { Version: '2012-10-17' }, [], 'a policy has a Statement'],
    ['an empty Statement list', { Statement: [] }, ['Statement'], 'an empty list'],
    ['a statement that is no object', { Statement: ['x'] }, ['Statement', 0], 'a statement is an object'],
    ['an unknown Effect', statement({ Effect: 'Permit' }), at('Effect'), 'Effect is Allow or Deny'],
    ['no Effect', { Statement: [{ Action: '*', Resource: '*' }] }, at(), 'a statement has an Effect (Allow or Deny)'],
    [
      'an unknown Effect, single statement',
      { Statement: { Effect: 'allow', Action: '*', Resource: '*' } },
      ['Statement', 'Effect'],
      'Effect is Allow or Deny',
    ],
    ['a Principal', statement({ Principal: '*' }), at('Principal'), 'Policy document should not specify a principal.'],
    ['a NotPrincipal', statement({ NotPrincipal: { AWS: '*' } }), at('NotPrincipal'), 'Policy document should not specify a principal.'],
    ['an unknown statement member', statement({ Actions: '*' }), at('Actions'), /^unknown member \(known: Sid, Effect, Action/],
    ['a Sid with other characters', statement({ Sid: 'allow-all' }), at('Sid'), /^Statement IDs \(SID\) must be alpha-numeric/],
    ['a Sid that is no string', statement({ Sid: 1 }), at('Sid'), /^Statement IDs \(SID\) must be alpha-numeric/],
    [
      'a Sid twice',
      { Statement: [1, 2].map(() => ({ Sid: 'S', Effect: 'Allow', Action: '*', Resource: '*' })) },
      ['Statement', 1, 'Sid'],
      'Statement IDs (SID) in a single policy must be unique.',
    ],
    ['Action and NotAction', statement({ NotAction: 'kinesis:*' }), at('NotAction'), 'a statement has Action or NotAction, not both'],
    ['neither Action nor NotAction', { Statement: [{ Effect: 'Allow', Resource: '*' }] }, at(), 'a statement has Action or NotAction'],
    ['Resource and NotResource', statement({ NotResource: '*' }), at('NotResource'), 'a statement has Resource or NotResource, not both'],
    [
      'neither Resource nor NotResource',
      { Statement: [{ Effect: 'Allow', Action: '*' }] },
      at(),
      'a statement has Resource or NotResource',
    ],
    ['an empty Action list', statement({ Action: [] }), at('Action'), 'an empty list'],
    ['an empty NotResource list', { Statement: [{ Effect: 'Deny', Action: '*', NotResource: [] }] }, at('NotResource'), 'an empty list'],
    ['an action without a service', statement({ Action: 'PutRecord' }), at('Action'), VENDOR_REASON],
    ['an action without a name', statement({ Action: ['kinesis:Get*', 'kinesis:'] }), at('Action', 1), VENDOR_REASON],
    ['an action that is no string', statement({ Action: ['kinesis:Get*', 5] }), at('Action', 1), 'Action is a string or a list of strings'],
    ['a resource that is no ARN', statement({ Resource: 'stream/orders' }), at('Resource'), /^a resource is "\*" or an ARN/],
    ['an empty resource', statement({ Resource: ['*', ''] }), at('Resource', 1), /^a resource is "\*" or an ARN/],
    ['an unclosed variable', statement({ Resource: streamArn('${aws:username') }), at('Resource'), /^an unclosed policy variable/],
    [
      'a variable without a vendor',
      statement({ Resource: streamArn('${username}') }),
      at('Resource'),
      /^policy variable \$\{username\}: Actions/,
    ],
    ['a Condition that is no object', condition('x'), at('Condition'), 'a Condition is an object of operators'],
    ['an empty Condition', condition({}), at('Condition'), 'a Condition is an object of operators'],
    [
      'an unknown operator',
      condition({ StringEqualz: { 'aws:username': 'a' } }),
      at('Condition', 'StringEqualz'),
      'unknown condition operator StringEqualz',
    ],
    [
      'Null with IfExists',
      condition({ NullIfExists: { 'aws:username': 'true' } }),
      at('Condition', 'NullIfExists'),
      'unknown condition operator NullIfExists',
    ],
    [
      'an unknown set qualifier',
      condition({ 'ForSomeValues:StringEquals': { 'aws:username': 'a' } }),
      at('Condition', 'ForSomeValues:StringEquals'),
      /^unknown/,
    ],
    ['an empty operator', condition({ StringEquals: {} }), at('Condition', 'StringEquals'), /^an operator takes an object/],
    ['a key without a vendor', condition({ StringEquals: { username: 'a' } }), operator('StringEquals', 'username'), VENDOR_REASON],
    ['an empty value list', condition({ StringEquals: { 'aws:username': [] } }), operator('StringEquals'), 'an empty list'],
    [
      'an object value',
      condition({ StringEquals: { 'aws:username': { a: 1 } } }),
      operator('StringEquals'),
      /^a condition value is a string/,
    ],
    [
      'a null in a value list',
      condition({ StringEquals: { 'aws:username': ['a', null] } }),
      [...operator('StringEquals'), 1],
      /^a condition value/,
    ],
    [
      'a number that is none',
      condition({ NumericLessThan: { 'kinesis:n': ['1', 'ten'] } }),
      [...operator('NumericLessThan', 'kinesis:n'), 1],
      '"ten" is not a number',
    ],
    [
      'a number with a variable',
      condition({ NumericEquals: { 'kinesis:n': '${kinesis:m}' } }),
      operator('NumericEquals', 'kinesis:n'),
      /is not a number$/,
    ],
    [
      'a date that is none',
      condition({ DateLessThan: { 'aws:CurrentTime': 'tomorrow' } }),
      operator('DateLessThan', 'aws:CurrentTime'),
      /is not a date/,
    ],
    [
      'a date that does not exist',
      condition({ DateLessThan: { 'aws:CurrentTime': '2024-02-30' } }),
      operator('DateLessThan', 'aws:CurrentTime'),
      /is not a date/,
    ],
    [
      'a CIDR too wide',
      condition({ IpAddress: { 'aws:SourceIp': '10.0.0.0/33' } }),
      operator('IpAddress', 'aws:SourceIp'),
      /is not an IP address or CIDR block$/,
    ],
    [
      'an address that is none',
      condition({ NotIpAddress: { 'aws:SourceIp': '300.1.1.1' } }),
      operator('NotIpAddress', 'aws:SourceIp'),
      /is not an IP address/,
    ],
    [
      'a Bool that is neither',
      condition({ Bool: { 'aws:SecureTransport': 'yes' } }),
      operator('Bool', 'aws:SecureTransport'),
      '"yes" is not true or false',
    ],
    ['a Null that is neither', condition({ Null: { 'aws:username': 'maybe' } }), operator('Null'), '"maybe" is not true or false'],
    [
      'an ARN of too few parts',
      condition({ ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam:*' } }),
      operator('ArnLike', 'aws:PrincipalArn'),
      /is not an ARN/,
    ],
  ])('%s', (_, document, path, reason) => {
    const { path: actualPath, reason: actualReason } = failure(document);
    expect(actualPath).toEqual(path);
    if (typeof reason === 'string') expect(actualReason).toBe(reason);
    else expect(actualReason).toMatch(reason);
  });

  it('throws MalformedPolicyDocumentException naming the policy, the path and the reason by default', () => {
    const document = {
      Statement: [
        { Effect: 'Allow', Action: '*', Resource: '*' },
        { Effect: 'Allow', Action: 'PutRecord', Resource: '*' },
      ],
    };
    expect(() => parsePolicy('writers', document)).toThrow(MalformedPolicyDocumentException);
    expect(() => parsePolicy('writers', document)).toThrow(`policy writers: Statement[1].Action: ${VENDOR_REASON}`);
    const keyed = { Statement: { Effect: 'Allow', Action: '*', Resource: '*', Condition: { Bool: { 'aws:SecureTransport': 'yes' } } } };
    expect(() => parsePolicy('tls', keyed)).toThrow('policy tls: Statement.Condition.Bool.aws:SecureTransport: "yes" is not true or false');
    expect(() => parsePolicy('x', 'null')).toThrow('policy x: a policy document is a JSON object');
  });

  it('parses a document given as JSON text', () => {
    const parsed = parsePolicy(
      'text',
      JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }),
    );
    expect(evaluate([parsed], request()).allowed).toBe(true);
  });
});
