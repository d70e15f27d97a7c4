/**
 * Who a connection is, and for how long: the role CONNECT authenticated, the token's expiry, and
 * the refresh check Pulsar runs every `authenticationRefreshCheckSeconds`:
 *  - a connection whose token has expired is refused every command that needs authorization
 *    (PRODUCER, SUBSCRIBE, LOOKUP, PARTITIONED_METADATA, GET_TOPICS_OF_NAMESPACE) with
 *    AuthenticationError;
 *  - at the next check it is sent AUTH_CHALLENGE when the client said it supports refresh
 *    (CONNECT feature flag), else closed; a challenge not answered with a valid token for the
 *    same role by the check after is closed too.
 * State machine per connection: fresh → expired → challenged → (refreshed → fresh | closed).
 */
import type { CommandAuthResponse } from '../../../lib/gen/pulsar/PulsarApi_pb.ts';
import { BaseCommand_Type } from '../../../lib/gen/pulsar/PulsarApi_pb.ts';
import { authErrors } from '../../../lib/auth/errors.ts';
import type { CommandInit } from '../../../lib/wire/commands.ts';
import type { TopicName } from '../../../lib/wire/topic-name.ts';
import type { BrokerContext, TopicOperation } from './context.ts';

/** Pulsar's challenge data for a token refresh (clients answer with a fresh token). */
const REFRESH_CHALLENGE = new TextEncoder().encode('refresh');

export interface AuthenticatedConnection {
  readonly ctx: BrokerContext;
  send(init: CommandInit): void;
  sendError(requestId: bigint, err: unknown): void;
  close(reason: string): void;
}

export class ConnectionAuth {
  private readonly conn: AuthenticatedConnection;
  /** '' when authentication is off (anonymous). */
  role = '';
  private expiresAtMs: number | undefined;
  private method = '';
  private supportsRefresh = false;
  private challengedAtMs: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private serverVersion = '';
  private protocolVersion = 0;

  constructor(conn: AuthenticatedConnection) {
    this.conn = conn;
  }

  /** CONNECT: authenticate (throws an AuthenticationError code), then watch the token's expiry. */
  async connect(
    method: string,
    data: Uint8Array,
    opts: { supportsRefresh: boolean; serverVersion: string; protocolVersion: number },
  ): Promise<void> {
    const authenticator = this.conn.ctx.authenticator;
    if (!authenticator) return;
    this.method = method;
    this.supportsRefresh = opts.supportsRefresh;
    this.serverVersion = opts.serverVersion;
    this.protocolVersion = opts.protocolVersion;
    this.accept(await authenticator(method, data));
    if (this.expiresAtMs !== undefined) {
      const everyMs = this.conn.ctx.config.authenticationRefreshCheckSeconds * 1000;
      this.timer = setInterval(() => this.check(Date.now()), everyMs);
      this.timer.unref();
    }
  }

  expired(nowMs: number): boolean {
    return this.expiresAtMs !== undefined && nowMs >= this.expiresAtMs;
  }

  async authorize(topic: TopicName, op: TopicOperation, subscription?: string): Promise<void> {
    this.refuseIfExpired();
    await this.conn.ctx.authorizer?.checkTopic(this.role, topic.full, op, subscription);
  }

  async authorizeListTopics(namespace: string): Promise<void> {
    this.refuseIfExpired();
    await this.conn.ctx.authorizer?.checkListTopics(this.role, namespace);
  }

  /** The periodic refresh check (also callable directly by tests through the connection). */
  check(nowMs: number): void {
    if (!this.expired(nowMs)) return;
    if (this.challengedAtMs !== undefined || !this.supportsRefresh) {
      this.conn.close(
        this.supportsRefresh ? 'token expired and not refreshed' : 'token expired (client cannot refresh)',
      );
      return;
    }
    this.challengedAtMs = nowMs;
    this.conn.send({
      type: BaseCommand_Type.AUTH_CHALLENGE,
      authChallenge: {
        serverVersion: this.serverVersion,
        protocolVersion: this.protocolVersion,
        challenge: { authMethodName: this.method, authData: REFRESH_CHALLENGE },
      },
    });
  }

  /** AUTH_RESPONSE: a refreshed token for the same role keeps the connection; anything else closes it. */
  async onAuthResponse(cmd: CommandAuthResponse): Promise<void> {
    const authenticator = this.conn.ctx.authenticator;
    if (!authenticator || this.challengedAtMs === undefined) {
      this.conn.sendError(0n, authErrors.make('INVALID_TOKEN', { why: 'AUTH_RESPONSE without a challenge' }));
      return;
    }
    const previousRole = this.role;
    try {
      const method = cmd.response?.authMethodName || this.method;
      const result = await authenticator(method, cmd.response?.authData ?? new Uint8Array(0));
      const role = typeof result === 'string' ? result : result.role;
      if (role !== previousRole) {
        throw authErrors.make('INVALID_TOKEN', {
          why: `refreshed role ${role} differs from ${previousRole}`,
        });
      }
      this.accept(result);
      this.challengedAtMs = undefined;
    } catch (err) {
      this.conn.sendError(0n, err);
      this.conn.close('token refresh failed');
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private accept(result: string | { readonly role: string; readonly expiresAtMs?: number }): void {
    if (typeof result === 'string') {
      this.role = result;
      this.expiresAtMs = undefined;
    } else {
      this.role = result.role;
      this.expiresAtMs = result.expiresAtMs;
    }
  }

  private refuseIfExpired(): void {
    if (this.expired(Date.now())) throw authErrors.make('TOKEN_EXPIRED');
  }
}
