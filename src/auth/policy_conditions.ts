import assert from 'node:assert';
import { BlockList, isIP } from 'node:net';

/*
 * The Condition element of an identity policy, and the value patterns (wildcards, policy
 * variables) it shares with Resource. Everything is parsed once, when the policy is: a condition
 * becomes a list of checks, one per (operator, key), each a closure over its policy values already
 * converted (numbers, times, CIDR lists, wildcard globs). Evaluating one reads the request's
 * context map and compares; the only strings built per request are those of values that hold a
 * policy variable, which cannot exist before the request does.
 *
 * IAM's rules followed here (docs.aws.amazon.com/IAM/latest/UserGuide/
 * reference_policies_elements_condition_operators.html and reference_policies_variables.html) are
 * named where they decide something.
 */

/** A condition key's value in a request: multi-valued keys (aws:TagKeys) are lists of strings. */
export type ContextValue = string | boolean | number | Date | readonly string[];
/** One request's condition keys by their lowercased names: IAM's key names are case-insensitive. */
export type RequestContext = ReadonlyMap<string, ContextValue>;
/** Where a member is within the policy document, e.g. ['Statement', 1, 'Action']. */
export type JsonPath = readonly (string | number)[];
export type Fail = (path: JsonPath, reason: string) => Error;

/** What parsing needs besides the text: where errors go, and whether `${...}` are variables (Version 2012-10-17). */
export interface ParseEnv {
  readonly fail: Fail;
  readonly variables: boolean;
}

type ContextScalar = string | boolean | number | Date;
type PolicyScalar = string | number | boolean;

/** IAM's own words for an action or a condition key without its service prefix. */
export const VENDOR_REASON = 'Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.';

// ---- policy variables ----

/**
 * A piece of a policy string: text as written (where `*` and `?` are wildcards if the operator
 * has them), a character written as `${*}`, `${?}` or `${$}` (always itself), or a variable.
 * `glob` is the piece in the escaped glob syntax of globMatch, for the pieces known at parse.
 */
type Part =
  | { readonly kind: 'text'; readonly text: string; readonly glob: string }
  | { readonly kind: 'char'; readonly text: string; readonly glob: string }
  | { readonly kind: 'variable'; readonly key: string; readonly fallback: string | undefined };

/** A policy string, parsed for its variables; `constant` when it has none, `plain` then its text. */
export interface Template {
  readonly source: string;
  readonly parts: readonly Part[];
  readonly constant: boolean;
  readonly plain: string;
}

const VARIABLE = /\$\{([^}]*)\}/g;
// `${key}` or, as IAM allows, `${key, 'default used when the key is absent'}`.
const VARIABLE_BODY = /^\s*([^\s,'${}]+)\s*(?:,\s*'([^']*)'\s*)?$/;
const HAS_VENDOR = /^[^:]+:./;
const SPECIAL_CHARS = new Set(['*', '?', '$']);

function textPart(text: string): Part {
  return { kind: 'text', text, glob: text.replaceAll('\\', '\\\\') };
}

/** Parses a Resource or condition value; in a 2008-10-17 policy `${...}` is plain text, as IAM reads it. */
export function parseTemplate(source: string, at: JsonPath, env: ParseEnv): Template {
  if (!env.variables || !source.includes('${')) return { source, parts: [textPart(source)], constant: true, plain: source };
  const parts: Part[] = [];
  let last = 0;
  for (const match of source.matchAll(VARIABLE)) {
    if (match.index > last) parts.push(textPart(source.slice(last, match.index)));
    parts.push(variablePart(match[1] ?? '', at, env));
    last = match.index + match[0].length;
  }
  const rest = source.slice(last);
  if (rest.includes('${')) throw env.fail(at, `an unclosed policy variable in "${source}" (\${$} is a literal $)`);
  if (rest !== '') parts.push(textPart(rest));
  const constant = parts.every((part) => part.kind !== 'variable');
  const plain = constant ? parts.map((part) => ('text' in part ? part.text : '')).join('') : '';
  return { source, parts, constant, plain };
}

function variablePart(body: string, at: JsonPath, env: ParseEnv): Part {
  if (SPECIAL_CHARS.has(body)) return { kind: 'char', text: body, glob: `\\${body}` };
  const match = VARIABLE_BODY.exec(body);
  const key = match?.[1];
  if (key === undefined) throw env.fail(at, `policy variable \${${body}}: write \${key} or \${key, 'default'}`);
  if (!HAS_VENDOR.test(key)) throw env.fail(at, `policy variable \${${body}}: ${VENDOR_REASON}`);
  return { kind: 'variable', key: key.toLowerCase(), fallback: match?.[2] };
}

/**
 * A variable's text in this request. IAM substitutes single-valued keys only: a list (aws:TagKeys)
 * has no text, like an absent key, and then the value holding it matches nothing.
 */
function variableText(ctx: RequestContext, key: string): string | undefined {
  const value = ctx.get(key);
  return value === undefined || isList(value) ? undefined : stringOf(value);
}

/** The template's text in this request, or undefined when a variable in it has no value. */
export function resolveTemplate(template: Template, ctx: RequestContext): string | undefined {
  if (template.constant) return template.plain;
  let text = '';
  for (const part of template.parts) {
    const piece = part.kind === 'variable' ? (variableText(ctx, part.key) ?? part.fallback) : part.text;
    if (piece === undefined) return undefined;
    text += piece;
  }
  return text;
}

/** Like resolveTemplate, in glob syntax: what a variable stands for is matched as itself, never as wildcards. */
function resolveGlob(template: Template, ctx: RequestContext): string | undefined {
  let glob = '';
  for (const part of template.parts) {
    if (part.kind !== 'variable') {
      glob += part.glob;
      continue;
    }
    const value = variableText(ctx, part.key) ?? part.fallback;
    if (value === undefined) return undefined;
    glob += value.replace(/[\\*?]/g, '\\$&');
  }
  return glob;
}

// ---- wildcards ----

/*
 * A glob is text where `*` is any run of characters, `?` any one, and `\` makes the next
 * character itself. globMatch walks it with two cursors and backs up to the last `*` only, so a
 * match costs at most (pattern length x subject length) steps. A RegExp built from the same glob
 * would backtrack over every earlier `*` too: polynomial in the subject for a pattern such as
 * `*a*a*a*b`, which a policy author can write.
 */
export function globMatch(glob: string, subject: string): boolean {
  let g = 0;
  let s = 0;
  let starG = -1;
  let starS = 0;
  while (s < subject.length) {
    const c = glob[g];
    if (c === '*') {
      starG = ++g;
      starS = s;
      continue;
    }
    if (c === '?' || (c === '\\' ? glob[g + 1] : c) === subject[s]) {
      g += c === '\\' ? 2 : 1;
      s += 1;
      continue;
    }
    if (starG < 0) return false;
    g = starG;
    s = ++starS;
  }
  while (glob[g] === '*') g += 1;
  return g === glob.length;
}

/** A constant glob, sorted at parse into the shapes most patterns have, each with a cheap test. */
type Glob =
  | { readonly kind: 'any' }
  | { readonly kind: 'exact'; readonly text: string }
  | { readonly kind: 'prefix'; readonly text: string }
  | { readonly kind: 'glob'; readonly glob: string };

const ONLY_STARS = /^\*+$/;

function compileGlob(glob: string): Glob {
  if (ONLY_STARS.test(glob)) return { kind: 'any' };
  const wildcards = [...glob.matchAll(/\\.|[*?]/gs)].filter((match) => match[0].length === 1);
  const text = glob.replace(/\\(.)/gs, '$1');
  if (wildcards.length === 0) return { kind: 'exact', text };
  const only = wildcards[0];
  if (wildcards.length === 1 && only?.[0] === '*' && only.index === glob.length - 1) return { kind: 'prefix', text: text.slice(0, -1) };
  return { kind: 'glob', glob };
}

function globMatches(glob: Glob, subject: string): boolean {
  switch (glob.kind) {
    case 'any':
      return true;
    case 'exact':
      return subject === glob.text;
    case 'prefix':
      return subject.startsWith(glob.text);
    case 'glob':
      return globMatch(glob.glob, subject);
  }
}

function constantGlob(template: Template): string {
  return template.parts.map((part) => (part.kind === 'variable' ? '' : part.glob)).join('');
}

/**
 * Wildcard patterns OR'ed: an Action list, a Resource list, a StringLike key's values.
 * `lowercase` (actions, which IAM matches case-insensitively) lowers the patterns once here; the
 * caller passes a lowercased subject, so a request lowers its action once, not once per pattern.
 */
export class WildcardSet {
  private readonly globs: readonly Glob[];
  private readonly templated: readonly Template[];

  constructor(templates: readonly Template[], lowercase = false) {
    const constant = templates.filter((template) => template.constant);
    this.globs = constant.map((template) => compileGlob(lowercase ? constantGlob(template).toLowerCase() : constantGlob(template)));
    this.templated = templates.filter((template) => !template.constant);
    assert(!lowercase || this.templated.length === 0, 'a lowercased WildcardSet has no policy variables');
  }

  matches(subject: string, ctx: RequestContext): boolean {
    for (const glob of this.globs) if (globMatches(glob, subject)) return true;
    for (const template of this.templated) {
      const glob = resolveGlob(template, ctx);
      if (glob !== undefined && globMatch(glob, subject)) return true;
    }
    return false;
  }
}

// ---- ARNs ----

const ARN_PARTS = 6;
const ARN_REASON = 'not an ARN (arn:partition:service:region:account:resource)';

/**
 * Splits at the first five colons (unescaped ones, in a glob): an ARN's resource part may hold
 * more, as a consumer's `stream/<name>/consumer/<name>:<epoch>` does.
 */
function arnParts(text: string, escaped: boolean): string[] | undefined {
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length && parts.length < ARN_PARTS - 1; i += 1) {
    if (escaped && text[i] === '\\') i += 1;
    else if (text[i] === ':') {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  if (parts.length < ARN_PARTS - 1) return undefined;
  parts.push(text.slice(start));
  return parts;
}

/**
 * An ArnEquals/ArnLike value. IAM documents both alike: case-sensitive, "each of the six
 * colon-delimited components of the ARN is checked separately" and each may hold `*` and `?`; so
 * a `*` never runs past a colon except in the resource part, which is last.
 */
class ArnPattern {
  private constructor(
    private readonly template: Template,
    private readonly globs: readonly Glob[] | undefined,
  ) {}

  static parse(template: Template, at: JsonPath, env: ParseEnv): ArnPattern {
    if (!template.constant) return new ArnPattern(template, undefined);
    const parts = arnParts(constantGlob(template), true);
    if (parts === undefined) throw env.fail(at, `"${template.source}" is ${ARN_REASON}`);
    return new ArnPattern(template, parts.map(compileGlob));
  }

  matches(arn: string, ctx: RequestContext): boolean {
    const subject = arnParts(arn, false);
    if (subject === undefined) return false;
    if (this.globs !== undefined) return this.globs.every((glob, i) => globMatches(glob, subject[i] ?? ''));
    const resolved = resolveGlob(this.template, ctx);
    const parts = resolved === undefined ? undefined : arnParts(resolved, true);
    return parts !== undefined && parts.every((glob, i) => globMatch(glob, subject[i] ?? ''));
  }
}

// ---- context values as each operator family reads them ----

function isList(value: ContextValue): value is readonly string[] {
  return Array.isArray(value);
}

function isAbsent(value: ContextValue | undefined): boolean {
  return value === undefined || (isList(value) && value.length === 0);
}

function stringOf(value: ContextScalar): string {
  return value instanceof Date && !Number.isNaN(value.getTime()) ? value.toISOString() : String(value);
}

const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

function numberOf(value: ContextScalar | PolicyScalar): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  return typeof value === 'string' && DECIMAL.test(value) ? Number(value) : undefined;
}

const EPOCH_SECONDS = /^\d+(?:\.\d+)?$/;
const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$/;

/** Milliseconds since the epoch: a Date, epoch seconds (number or digits), or ISO 8601 (IAM's two date forms). */
function timeOf(value: ContextScalar | PolicyScalar): number | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.getTime();
  if (typeof value === 'number') return Number.isFinite(value) ? value * 1000 : undefined;
  if (typeof value !== 'string') return undefined;
  if (EPOCH_SECONDS.test(value)) return Number(value) * 1000;
  const match = ISO_8601.exec(value);
  if (match === null) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  // Date.parse rolls 2024-02-30 over into March; a date that does not exist is not a date.
  if (new Date(Date.UTC(year, month - 1, day)).getUTCDate() !== day) return undefined;
  // A time without a zone is UTC, as in IAM; Date.parse would read it as local time.
  const time = Date.parse(value.includes('T') && match[4] === undefined ? `${value}Z` : value);
  return Number.isNaN(time) ? undefined : time;
}

/** IAM reads `true` and `"true"` (any case) alike. */
function boolOf(value: ContextScalar | PolicyScalar): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value !== 'string') return undefined;
  const lower = value.toLowerCase();
  return lower === 'true' ? true : lower === 'false' ? false : undefined;
}

function addIpOrCidr(list: BlockList, text: string): boolean {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const family = isIP(address);
  if (family === 0) return false;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (slash < 0) {
    list.addAddress(address, type);
    return true;
  }
  const bits = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > (family === 4 ? 32 : 128)) return false;
  list.addSubnet(address, Number(bits), type);
  return true;
}

// ---- operators ----

/** One context value against all of a key's policy values, OR'ed (IAM: values of one key are alternatives). */
type ValueTest = (value: ContextScalar, ctx: RequestContext) => boolean;
interface PolicyValue {
  readonly value: PolicyScalar;
  readonly at: JsonPath;
}
type Compile = (values: readonly PolicyValue[], env: ParseEnv) => ValueTest;

/** A base operator: its positive test, and whether the operator is that test's negation (StringNotEquals...). */
interface Operator {
  readonly compile: Compile;
  readonly negated: boolean;
}

function templates(values: readonly PolicyValue[], env: ParseEnv): Template[] {
  return values.map(({ value, at }) => parseTemplate(String(value), at, env));
}

function stringEquals(ignoreCase: boolean): Compile {
  const fold = ignoreCase ? (text: string) => text.toLowerCase() : (text: string) => text;
  return (values, env) => {
    const all = templates(values, env);
    const constants = new Set(all.filter((t) => t.constant).map((t) => fold(t.plain)));
    const templated = all.filter((t) => !t.constant);
    return (value, ctx) => {
      const text = fold(stringOf(value));
      if (constants.has(text)) return true;
      return templated.some((template) => {
        const resolved = resolveTemplate(template, ctx);
        return resolved !== undefined && fold(resolved) === text;
      });
    };
  };
}

const stringLike: Compile = (values, env) => {
  const set = new WildcardSet(templates(values, env));
  return (value, ctx) => set.matches(stringOf(value), ctx);
};

/** Numeric and Date operators take no policy variables (IAM's tables say so), so their values convert now. */
function ordered(convert: (value: ContextScalar | PolicyScalar) => number | undefined, what: string) {
  return (holds: (request: number, policy: number) => boolean): Compile =>
    (values, env) => {
      const converted = values.map(({ value, at }) => {
        const number = convert(value);
        if (number === undefined) throw env.fail(at, `${JSON.stringify(value)} is not ${what}`);
        return number;
      });
      return (value) => {
        const number = convert(value);
        return number !== undefined && converted.some((policy) => holds(number, policy));
      };
    };
}

const numeric = ordered(numberOf, 'a number');
const date = ordered(timeOf, 'a date (ISO 8601 or epoch seconds)');

const bool: Compile = (values, env) => {
  const constants = new Set<boolean>();
  const templated: Template[] = [];
  for (const { value, at } of values) {
    const template = typeof value === 'string' ? parseTemplate(value, at, env) : undefined;
    const constant = template === undefined || template.constant ? boolOf(value) : undefined;
    if (template !== undefined && !template.constant) templated.push(template);
    else if (constant === undefined) throw env.fail(at, `${JSON.stringify(value)} is not true or false`);
    else constants.add(constant);
  }
  return (value, ctx) => {
    const request = boolOf(value);
    if (request === undefined) return false;
    if (constants.has(request)) return true;
    return templated.some((template) => {
      const resolved = resolveTemplate(template, ctx);
      return resolved !== undefined && boolOf(resolved) === request;
    });
  };
};

const ipAddress: Compile = (values, env) => {
  const list = new BlockList();
  for (const { value, at } of values) {
    if (typeof value !== 'string' || !addIpOrCidr(list, value))
      throw env.fail(at, `${JSON.stringify(value)} is not an IP address or CIDR block`);
  }
  return (value) => {
    if (typeof value !== 'string') return false;
    const family = isIP(value);
    return family !== 0 && list.check(value, family === 4 ? 'ipv4' : 'ipv6');
  };
};

const arn: Compile = (values, env) => {
  const patterns = values.map(({ value, at }) => {
    if (typeof value !== 'string') throw env.fail(at, `${JSON.stringify(value)} is ${ARN_REASON}`);
    return ArnPattern.parse(parseTemplate(value, at, env), at, env);
  });
  return (value, ctx) => typeof value === 'string' && patterns.some((pattern) => pattern.matches(value, ctx));
};

const EQ = (a: number, b: number): boolean => a === b;
const LT = (a: number, b: number): boolean => a < b;
const LTE = (a: number, b: number): boolean => a <= b;
const GT = (a: number, b: number): boolean => a > b;
const GTE = (a: number, b: number): boolean => a >= b;

const positive = (compile: Compile): Operator => ({ compile, negated: false });
const negative = (compile: Compile): Operator => ({ compile, negated: true });

const OPERATORS: ReadonlyMap<string, Operator> = new Map([
  ['StringEquals', positive(stringEquals(false))],
  ['StringNotEquals', negative(stringEquals(false))],
  ['StringEqualsIgnoreCase', positive(stringEquals(true))],
  ['StringNotEqualsIgnoreCase', negative(stringEquals(true))],
  ['StringLike', positive(stringLike)],
  ['StringNotLike', negative(stringLike)],
  ['NumericEquals', positive(numeric(EQ))],
  ['NumericNotEquals', negative(numeric(EQ))],
  ['NumericLessThan', positive(numeric(LT))],
  ['NumericLessThanEquals', positive(numeric(LTE))],
  ['NumericGreaterThan', positive(numeric(GT))],
  ['NumericGreaterThanEquals', positive(numeric(GTE))],
  ['DateEquals', positive(date(EQ))],
  ['DateNotEquals', negative(date(EQ))],
  ['DateLessThan', positive(date(LT))],
  ['DateLessThanEquals', positive(date(LTE))],
  ['DateGreaterThan', positive(date(GT))],
  ['DateGreaterThanEquals', positive(date(GTE))],
  ['Bool', positive(bool)],
  ['IpAddress', positive(ipAddress)],
  ['NotIpAddress', negative(ipAddress)],
  ['ArnEquals', positive(arn)],
  ['ArnLike', positive(arn)],
  ['ArnNotEquals', negative(arn)],
  ['ArnNotLike', negative(arn)],
]);

// ---- the Condition element ----

type SetQualifier = 'ForAnyValue' | 'ForAllValues' | undefined;
type Check = (ctx: RequestContext) => boolean;

interface OperatorName {
  readonly set: SetQualifier;
  readonly base: string;
  readonly ifExists: boolean;
}

const OPERATOR_NAME = /^(?:(ForAnyValue|ForAllValues):)?(\w+?)(IfExists)?$/;

function operatorName(name: string): OperatorName | undefined {
  const match = OPERATOR_NAME.exec(name);
  const base = match?.[2];
  if (base === undefined || (base !== 'Null' && !OPERATORS.has(base))) return undefined;
  // Null tests presence itself: IAM gives it neither IfExists nor a set qualifier.
  if (base === 'Null' && (match?.[1] !== undefined || match?.[3] !== undefined)) return undefined;
  return { set: match?.[1] as SetQualifier, base, ifExists: match?.[3] !== undefined };
}

/**
 * A key the request does not have. IAM: "If the key that you specify in a policy condition is not
 * present in the request context, the values do not match and the condition is false. If the
 * policy condition requires that the key is not matched, such as StringNotLike or ArnNotLike, and
 * the right key is not present, the condition is true", except for ...IfExists (true when absent).
 * ForAllValues "also returns true if there are no context keys in the request"; ForAnyValue needs
 * one value that matches, so it is false. An empty list counts as absent, as IAM's advice to guard
 * ForAllValues with Null (which treats empty values as null) assumes.
 */
function absentHolds(name: OperatorName, negated: boolean): boolean {
  if (name.ifExists || name.set === 'ForAllValues') return true;
  if (name.set === 'ForAnyValue') return false;
  return negated;
}

/**
 * The check of one key. For each context value the test says whether it matches one of the
 * policy values; a negated operator holds for a value that matches none of them (IAM: "the
 * effective permission works like a logical AND"). ForAnyValue wants that of one context value,
 * ForAllValues of every one. A list without a qualifier (IAM wants one for multi-valued keys, and
 * leaves this open) is read here as matching when any of its values matches.
 */
function keyCheck(key: string, name: OperatorName, operator: Operator, test: ValueTest): Check {
  const { negated } = operator;
  const absent = absentHolds(name, negated);
  return (ctx) => {
    const value = ctx.get(key);
    if (value === undefined || isAbsent(value)) return absent;
    if (!isList(value)) return negated !== test(value, ctx);
    if (name.set === 'ForAllValues') return value.every((one) => negated !== test(one, ctx));
    if (name.set === 'ForAnyValue') return value.some((one) => negated !== test(one, ctx));
    return negated !== value.some((one) => test(one, ctx));
  };
}

/** Null: `true` holds when the key is absent, `false` when it is present. */
function nullCheck(key: string, values: readonly PolicyValue[], env: ParseEnv): Check {
  const wanted = values.map(({ value, at }) => {
    const absent = boolOf(value);
    if (absent === undefined) throw env.fail(at, `${JSON.stringify(value)} is not true or false`);
    return absent;
  });
  return (ctx) => wanted.includes(isAbsent(ctx.get(key)));
}

function isObject(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function policyValues(raw: unknown, at: JsonPath, env: ParseEnv): PolicyValue[] {
  if (Array.isArray(raw) && raw.length === 0) throw env.fail(at, 'an empty list');
  const list: readonly unknown[] = Array.isArray(raw) ? raw : [raw];
  return list.map((value, i) => {
    const where = Array.isArray(raw) ? [...at, i] : at;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return { value, at: where };
    throw env.fail(where, 'a condition value is a string, a number or a boolean (or a list of them)');
  });
}

function operatorChecks(operator: string, block: unknown, at: JsonPath, env: ParseEnv): Check[] {
  const name = operatorName(operator);
  if (name === undefined) throw env.fail(at, `unknown condition operator ${operator}`);
  if (!isObject(block) || Object.keys(block).length === 0) throw env.fail(at, 'an operator takes an object of condition keys and values');
  return Object.entries(block).map(([key, raw]) => {
    const where = [...at, key];
    if (!HAS_VENDOR.test(key)) throw env.fail(where, VENDOR_REASON);
    const values = policyValues(raw, where, env);
    if (name.base === 'Null') return nullCheck(key.toLowerCase(), values, env);
    const base = OPERATORS.get(name.base);
    if (base === undefined) throw env.fail(at, `unknown condition operator ${operator}`);
    return keyCheck(key.toLowerCase(), name, base, base.compile(values, env));
  });
}

/** A statement's Condition: every operator, and every key within one, must hold (AND). */
export class Condition {
  static readonly NONE = new Condition([]);

  private constructor(private readonly checks: readonly Check[]) {}

  static parse(raw: unknown, at: JsonPath, env: ParseEnv): Condition {
    if (!isObject(raw) || Object.keys(raw).length === 0) throw env.fail(at, 'a Condition is an object of operators');
    return new Condition(Object.entries(raw).flatMap(([operator, block]) => operatorChecks(operator, block, [...at, operator], env)));
  }

  holds(ctx: RequestContext): boolean {
    for (const check of this.checks) if (!check(ctx)) return false;
    return true;
  }
}
