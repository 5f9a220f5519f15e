/** The rule catalogue: every rule, and every code it may report (stable, never reused). */
import type { Rule, RuleInfo } from './finding';
import { injectionRule } from './rules/injection.rule';
import { networkPolicyRule } from './rules/network-policy.rule';
import { opaquePortsRule } from './rules/opaque-ports.rule';
import { policyRule } from './rules/policy.rule';
import { routingRule } from './rules/routing.rule';
import { yamlRule } from './rules/yaml.rule';

export const ALL_RULES: readonly Rule[] = [opaquePortsRule, networkPolicyRule, injectionRule, routingRule, policyRule, yamlRule];

export const CATALOGUE: ReadonlyMap<string, RuleInfo> = new Map(ALL_RULES.flatMap((r) => r.codes).map((c) => [c.code, c]));

/** The anchor of a code in docs/rules.md. */
export function ruleAnchor(code: string): string {
  return code.toLowerCase();
}
