import { AccessDeniedException, UnrecognizedClientException } from '../errors.js';
import type { Engine } from '../engine/engine.js';
import { ACCOUNT_ID, REGION } from '../streams/kinesis_shapes.js';
import { CredentialStore, type Identity } from './credentials.js';
import type { AuditedCall, AuditTrail } from './audit_trail.js';
import { accessRequests, type AccessRequest } from './operations.js';
import { accessDeniedMessage, evaluate, type AuthorizationRequest, type ContextValue, type Decision } from './policy.js';
import { verifySigV4, type SignedRequest } from './sigv4.js';

/*
 * Who may do what, checked once per request for every door (docs/SECURITY.md): the doors
 * authenticate their way (SigV4 over HTTP and on the WebSocket upgrade, an identity given to an
 * embedded handle) and then ask authorize() before any work. Without a credentials file every
 * caller is the local identity and everything is allowed, as before security existed.
 */

export interface Caller {
  readonly identity: Identity;
  readonly accessKeyId?: string;
}

/** Where a request came from, for the conditions aws:SourceIp and aws:SecureTransport. */
export interface Origin {
  readonly sourceIp: string;
  readonly secureTransport: boolean;
}

export const LOCAL_IDENTITY: Identity = {
  name: 'local',
  arn: `arn:aws:iam::${ACCOUNT_ID}:root`,
  accountId: ACCOUNT_ID,
  policies: [],
  tags: {},
  readsResourceTags: false,
};
export const LOCAL_CALLER: Caller = { identity: LOCAL_IDENTITY };
export const EMBEDDED_ORIGIN: Origin = { sourceIp: '127.0.0.1', secureTransport: true };

const UNRECOGNIZED = 'The security token included in the request is invalid.';

export class AccessControl {
  private trail: AuditTrail | null = null;

  private constructor(
    private readonly engine: Engine,
    private store: CredentialStore | null,
  ) {}

  /** Auth off: any credentials, everything allowed. */
  static off(engine: Engine): AccessControl {
    return new AccessControl(engine, null);
  }

  /** Auth on with the identities of a credentials file; InvalidCredentialsFileError if it cannot be used. */
  static fromFile(engine: Engine, path: string): AccessControl {
    return new AccessControl(engine, CredentialStore.load(path));
  }

  /** Every door's calls from now on go to this audit trail too. */
  auditTo(trail: AuditTrail): void {
    this.trail = trail;
  }

  /** Whether calls are audited: a door's hot path builds no record without a trail. */
  get auditing(): boolean {
    return this.trail !== null;
  }

  /** A call's record in the audit trail, if there is one (the doors call it with each outcome). */
  audit(call: AuditedCall): void {
    this.trail?.record(call);
  }

  get enabled(): boolean {
    return this.store !== null;
  }

  get credentials(): CredentialStore | null {
    return this.store;
  }

  /** Reads the credentials file again (SIGHUP); on a problem the identities loaded before stay, and the error is thrown. */
  reload(): void {
    if (this.store === null) return;
    this.store = CredentialStore.load(this.store.path);
  }

  /** The caller of a SigV4-signed request (header or presigned query), or the typed error AWS answers. */
  authenticate(request: SignedRequest, service = 'kinesis'): Caller {
    if (this.store === null) return LOCAL_CALLER;
    const store = this.store;
    const { accessKeyId } = verifySigV4(request, (id) => store.secretOf(id), { service });
    const key = store.keyOf(accessKeyId);
    if (key === undefined) throw new UnrecognizedClientException(UNRECOGNIZED);
    return { identity: key.identity, accessKeyId };
  }

  /** The caller of an access key id alone (an embedded handle opened with a key). */
  callerOf(accessKeyId: string): Caller {
    const key = this.store?.keyOf(accessKeyId);
    if (key === undefined) throw new UnrecognizedClientException(UNRECOGNIZED);
    return { identity: key.identity, accessKeyId };
  }

  /** Throws AccessDeniedException, in AWS's words, unless the caller's policies allow the operation. */
  authorize(caller: Caller, operation: string, request: Readonly<Record<string, unknown>>, origin: Origin): void {
    if (this.store === null) return;
    for (const access of accessRequests(this.engine, operation, request)) {
      const asked = this.authorizationRequest(caller.identity, access, origin);
      const decision = evaluate(caller.identity.policies, asked);
      if (!decision.allowed) throw new AccessDeniedException(accessDeniedMessage(asked, decision));
    }
  }

  /** The check of an action that is no Kinesis operation (Lambda's API): AccessDeniedException unless allowed. */
  authorizeAction(caller: Caller, action: string, resource: string, origin: Origin): void {
    if (this.store === null) return;
    const asked = this.authorizationRequest(caller.identity, { action, resource }, origin);
    const decision = evaluate(caller.identity.policies, asked);
    if (!decision.allowed) throw new AccessDeniedException(accessDeniedMessage(asked, decision));
  }

  /** What the identity's policies decide for an action on a resource, and which statements decided it. */
  simulate(identity: Identity, action: string, resource: string, origin: Origin, context: Record<string, ContextValue> = {}): Simulation {
    const streamName = resource.split(':stream/')[1]?.split('/')[0];
    const access: AccessRequest = { action, resource, ...(streamName === undefined ? {} : { streamName }) };
    const asked = this.authorizationRequest(identity, access, origin, context);
    const decision = evaluate(identity.policies, asked);
    return { ...decision, request: asked, ...(decision.allowed ? {} : { message: accessDeniedMessage(asked, decision) }) };
  }

  private authorizationRequest(
    identity: Identity,
    access: AccessRequest,
    origin: Origin,
    extra: Record<string, ContextValue> = {},
  ): AuthorizationRequest {
    const context: Record<string, ContextValue> = {
      'aws:SourceIp': origin.sourceIp,
      'aws:SecureTransport': origin.secureTransport,
      'aws:CurrentTime': new Date(),
      'aws:PrincipalArn': identity.arn,
      'aws:username': identity.name,
      'aws:RequestedRegion': REGION,
    };
    for (const [key, value] of Object.entries(identity.tags)) context[`aws:PrincipalTag/${key}`] = value;
    if (identity.readsResourceTags)
      for (const [key, value] of Object.entries(this.resourceTags(access.streamName))) context[`aws:ResourceTag/${key}`] = value;
    if (access.requestTags !== undefined) {
      for (const [key, value] of Object.entries(access.requestTags)) context[`aws:RequestTag/${key}`] = value;
      context['aws:TagKeys'] = Object.keys(access.requestTags);
    }
    return { action: access.action, resource: access.resource, principalArn: identity.arn, context: { ...context, ...extra } };
  }

  /** A stream that does not exist (yet) has no tags; the operation answers for it. */
  private resourceTags(streamName: string | undefined): Record<string, string> {
    if (streamName === undefined || streamName === '') return {};
    try {
      return Object.fromEntries(this.engine.listTagsForStream({ StreamName: streamName }).Tags.map((tag) => [tag.Key, tag.Value ?? '']));
    } catch {
      return {};
    }
  }
}

export interface Simulation extends Decision {
  readonly request: AuthorizationRequest;
  readonly message?: string;
}
