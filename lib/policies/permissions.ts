/**
 * Permissions held in the namespace document (`auth_policies`): role → actions on the whole
 * namespace, per topic (`destination_auth`, keyed by full topic name; a partition is covered by
 * its partitioned parent's grants), and per subscription (which roles may use it). Pure functions:
 * lib/auth decides with them, the admin API edits with them.
 */
import { policyErrors } from './errors.ts';
import { formatNamespace, type NamespaceName, partitionedParent, type TopicName } from './names.ts';
import type { AuthAction, Policies } from './types.ts';

export function grantNamespacePermission(p: Policies, role: string, actions: readonly AuthAction[]): void {
  p.auth_policies.namespace_auth[role] = [...new Set(actions)];
}

export function revokeNamespacePermission(p: Policies, role: string): void {
  delete p.auth_policies.namespace_auth[role];
}

export function grantTopicPermission(
  p: Policies,
  topic: TopicName,
  role: string,
  actions: readonly AuthAction[],
): void {
  const auth = p.auth_policies.destination_auth;
  auth[topic.full] = { ...(auth[topic.full] ?? {}), [role]: [...new Set(actions)] };
}

/** 412 when the role's grant exists only on the namespace (revoke it there), 404 when none exists. */
export function revokeTopicPermission(p: Policies, ns: NamespaceName, topic: TopicName, role: string): void {
  const grants = p.auth_policies.destination_auth[topic.full];
  if (!grants || !(role in grants)) {
    if (role in p.auth_policies.namespace_auth) {
      throw policyErrors.make('PERMISSION_ONLY_ON_NAMESPACE', { role, namespace: formatNamespace(ns) });
    }
    throw policyErrors.make('PERMISSION_NOT_FOUND', { role, resource: topic.full });
  }
  delete grants[role];
  if (Object.keys(grants).length === 0) delete p.auth_policies.destination_auth[topic.full];
}

/** Grants that apply to a topic: namespace grants merged with the topic's (and its parent's). */
export function topicPermissions(p: Policies, topic: TopicName): Record<string, AuthAction[]> {
  const out: Record<string, Set<AuthAction>> = {};
  const add = (grants: Record<string, AuthAction[]> | undefined) => {
    for (const [role, actions] of Object.entries(grants ?? {})) {
      out[role] ??= new Set();
      for (const a of actions) out[role].add(a);
    }
  };
  add(p.auth_policies.namespace_auth);
  const parent = partitionedParent(topic);
  if (parent.full !== topic.full) add(p.auth_policies.destination_auth[parent.full]);
  add(p.auth_policies.destination_auth[topic.full]);
  return Object.fromEntries(Object.entries(out).map(([r, s]) => [r, [...s]]));
}

/** Does any of `roles` hold `action` on `topic` through namespace or topic grants? */
export function hasTopicAction(
  p: Policies,
  topic: TopicName,
  roles: readonly string[],
  action: AuthAction,
): boolean {
  const grants = topicPermissions(p, topic);
  return roles.some((r) => grants[r]?.includes(action) ?? false);
}

/**
 * May `role` use subscription `sub`? With roles listed for the subscription, only those; in
 * Prefix mode the subscription name must start with the role name. Otherwise any role that may
 * consume.
 */
export function subscriptionAllowed(p: Policies, sub: string, role: string): boolean {
  const listed = p.auth_policies.subscription_auth_roles[sub];
  if (listed && listed.length > 0 && !listed.includes(role)) return false;
  if (p.subscription_auth_mode === 'Prefix' && !sub.startsWith(role)) return false;
  return true;
}

export function grantSubscriptionRoles(p: Policies, sub: string, roles: readonly string[]): void {
  const cur = p.auth_policies.subscription_auth_roles[sub] ?? [];
  p.auth_policies.subscription_auth_roles[sub] = [...new Set([...cur, ...roles])];
}

export function revokeSubscriptionRole(p: Policies, sub: string, role: string): void {
  const cur = p.auth_policies.subscription_auth_roles[sub];
  if (!cur?.includes(role))
    throw policyErrors.make('PERMISSION_NOT_FOUND', { role, resource: `subscription ${sub}` });
  const next = cur.filter((r) => r !== role);
  if (next.length === 0) delete p.auth_policies.subscription_auth_roles[sub];
  else p.auth_policies.subscription_auth_roles[sub] = next;
}
