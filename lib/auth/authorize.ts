/**
 * Authorization as Pulsar's default provider decides it:
 *  - superuser roles (config) may do everything;
 *  - a tenant's adminRoles manage the tenant (namespaces, policies, topics) and may also produce,
 *    consume and look up in it;
 *  - other roles need a grant: `produce` to publish, `consume` to subscribe (and the subscription
 *    must allow the role), either to look up; grants come from the namespace, the topic, or the
 *    topic's partitioned parent.
 * Used by the admin API on every endpoint and by the broker on PRODUCER, SUBSCRIBE and LOOKUP.
 * When authorization is off every check passes.
 */
import { type NamespaceName, parseNamespace, parseTopicName, type TopicName } from '../policies/names.ts';
import { hasTopicAction, subscriptionAllowed } from '../policies/permissions.ts';
import type { PolicyStore } from '../policies/store.ts';
import type { AuthConfig } from './config.ts';
import { authErrors } from './errors.ts';

export type TopicOperation = 'produce' | 'consume' | 'lookup';

/**
 * What the broker's binary protocol calls (names as strings, as the wire carries them): each
 * check resolves when allowed and throws NOT_AUTHORIZED (ServerError AuthorizationError) when not.
 */
export interface BrokerAuthorizer {
  checkTopic(role: string, topic: string, op: TopicOperation, subscription?: string): Promise<void>;
  /** GET_TOPICS_OF_NAMESPACE: tenant admins and roles with produce or consume on the namespace. */
  checkListTopics(role: string, namespace: string): Promise<void>;
}

export class AuthorizationService {
  readonly enabled: boolean;
  private readonly superUsers: ReadonlySet<string>;
  private readonly policies: PolicyStore;

  constructor(config: AuthConfig, policies: PolicyStore) {
    this.enabled = config.authenticationEnabled && config.authorizationEnabled;
    this.superUsers = new Set(config.superUserRoles.filter((r) => r.length > 0));
    this.policies = policies;
  }

  isSuperUser(role: string): boolean {
    return !this.enabled || this.superUsers.has(role);
  }

  async isTenantAdmin(role: string, tenant: string): Promise<boolean> {
    if (this.isSuperUser(role)) return true;
    const info = await this.policies.getTenant(tenant).catch(() => undefined);
    return info?.adminRoles.includes(role) ?? false;
  }

  async canProduce(role: string, topic: TopicName): Promise<boolean> {
    return this.allowed(role, topic, 'produce');
  }

  async canConsume(role: string, topic: TopicName, subscription?: string): Promise<boolean> {
    return this.allowed(role, topic, 'consume', subscription);
  }

  async canLookup(role: string, topic: TopicName): Promise<boolean> {
    return this.allowed(role, topic, 'lookup');
  }

  async allowed(role: string, topic: TopicName, op: TopicOperation, subscription?: string): Promise<boolean> {
    if (await this.isTenantAdmin(role, topic.tenant)) return true;
    const p = await this.policies.getPolicies(topic);
    if (!p) return false;
    switch (op) {
      case 'produce':
        return hasTopicAction(p, topic, [role], 'produce');
      case 'consume':
        return (
          hasTopicAction(p, topic, [role], 'consume') &&
          (subscription === undefined || subscriptionAllowed(p, subscription, role))
        );
      case 'lookup':
        return hasTopicAction(p, topic, [role], 'produce') || hasTopicAction(p, topic, [role], 'consume');
    }
  }

  /** List a namespace's topics (Pulsar's GET_TOPICS: produce or consume granted on the namespace). */
  async canListTopics(role: string, ns: NamespaceName): Promise<boolean> {
    if (await this.isTenantAdmin(role, ns.tenant)) return true;
    const p = await this.policies.getPolicies(ns);
    const actions = p?.auth_policies.namespace_auth[role] ?? [];
    return actions.includes('produce') || actions.includes('consume');
  }

  /** The binary protocol's view (string names); undefined checks pass when authorization is off. */
  brokerAuthorizer(): BrokerAuthorizer {
    return {
      checkTopic: (role, topic, op, subscription) =>
        this.checkTopic(role, parseTopicName(topic), op, subscription),
      checkListTopics: async (role, namespace) => {
        const ns = parseNamespace(namespace);
        if (!(await this.canListTopics(role, ns))) {
          throw authErrors.make('NOT_AUTHORIZED', {
            role,
            operation: 'list topics of',
            resource: `namespace ${namespace}`,
          });
        }
      },
    };
  }

  // ---- throwing forms (403 / AuthorizationError) --------------------------------------------

  checkSuperUser(role: string, operation: string): void {
    if (!this.isSuperUser(role)) throw authErrors.make('SUPERUSER_REQUIRED', { role, operation });
  }

  async checkTenantAdmin(role: string, tenant: string, operation: string): Promise<void> {
    if (!(await this.isTenantAdmin(role, tenant))) {
      throw authErrors.make('NOT_AUTHORIZED', { role, operation, resource: `tenant ${tenant}` });
    }
  }

  async checkTopic(role: string, topic: TopicName, op: TopicOperation, subscription?: string): Promise<void> {
    if (!(await this.allowed(role, topic, op, subscription))) {
      const resource = subscription === undefined ? topic.full : `${topic.full} subscription ${subscription}`;
      throw authErrors.make('NOT_AUTHORIZED', { role, operation: op, resource });
    }
  }
}
