/**
 * CustomResourceDefinitions of the policy.weft.dev resources (Linkerd's shapes; the fields
 * mesh/control/policy/resources.ts reads). The schemas are structural (every level typed) so the
 * API server prunes unknown fields; enums come from the same tables the parser uses, so the CRD and
 * the parser cannot drift apart.
 */
import { DEFAULT_INBOUND_POLICIES } from '../../config/annotations';
import { POLICY_API_GROUP } from '../../config/names';
import { PART_OF_LABEL } from '../../config/control-plane';
import { AUTHENTICATION_KINDS, PROXY_PROTOCOLS, TARGET_KINDS } from '../policy/resources';
import { SELECTOR_OPERATORS } from '../policy/label-selector';

export const POLICY_API_VERSION = 'v1beta1';

type Schema = Record<string, unknown>;
const str = (extra: Schema = {}): Schema => ({ type: 'string', ...extra });
const obj = (properties: Record<string, Schema>, required?: string[]): Schema => ({ type: 'object', properties, ...(required ? { required } : {}) });
const arr = (items: Schema, extra: Schema = {}): Schema => ({ type: 'array', items, ...extra });

const labelSelector = obj({
  matchLabels: { type: 'object', additionalProperties: str() },
  matchExpressions: arr(obj({ key: str(), operator: str({ enum: [...SELECTOR_OPERATORS] }), values: arr(str()) }, ['key', 'operator'])),
});

const SPECS: Record<string, { plural: string; singular: string; shortNames: string[]; spec: Schema }> = {
  Server: {
    plural: 'servers',
    singular: 'server',
    shortNames: ['srv'],
    spec: obj(
      {
        podSelector: labelSelector,
        port: { 'x-kubernetes-int-or-string': true, description: 'A port number or the name of a container port.' },
        proxyProtocol: str({ enum: [...PROXY_PROTOCOLS], default: 'unknown' }),
        accessPolicy: str({ enum: [...DEFAULT_INBOUND_POLICIES], default: 'deny' }),
      },
      ['podSelector', 'port'],
    ),
  },
  AuthorizationPolicy: {
    plural: 'authorizationpolicies',
    singular: 'authorizationpolicy',
    shortNames: ['authzpolicy'],
    spec: obj(
      {
        targetRef: obj({ group: str(), kind: str({ enum: [...TARGET_KINDS] }), name: str() }, ['kind', 'name']),
        requiredAuthenticationRefs: arr(obj({ group: str(), kind: str({ enum: [...AUTHENTICATION_KINDS] }), name: str(), namespace: str() }, ['kind', 'name'])),
      },
      ['targetRef'],
    ),
  },
  MeshTLSAuthentication: {
    plural: 'meshtlsauthentications',
    singular: 'meshtlsauthentication',
    shortNames: ['meshtlsauthn'],
    spec: obj({
      identities: arr(str(), { minItems: 1 }),
      identityRefs: arr(obj({ group: str(), kind: str({ enum: ['ServiceAccount', 'Namespace'] }), name: str(), namespace: str() }, ['kind', 'name']), { minItems: 1 }),
    }),
  },
  NetworkAuthentication: {
    plural: 'networkauthentications',
    singular: 'networkauthentication',
    shortNames: ['netauthn'],
    spec: obj({ networks: arr(obj({ cidr: str(), except: arr(str()) }, ['cidr']), { minItems: 1 }) }, ['networks']),
  },
};

export const POLICY_KINDS = Object.keys(SPECS);

export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; labels: Record<string, string> };
  spec: {
    group: string;
    scope: 'Namespaced';
    names: { kind: string; listKind: string; plural: string; singular: string; shortNames: string[]; categories: string[] };
    versions: { name: string; served: boolean; storage: boolean; schema: { openAPIV3Schema: Schema } }[];
  };
}

/** `<plural>.policy.weft.dev` for each policy kind. */
export function policyCrdNames(): string[] {
  return Object.values(SPECS).map((s) => `${s.plural}.${POLICY_API_GROUP}`);
}

export function policyCrds(): CustomResourceDefinition[] {
  return Object.entries(SPECS).map(([kind, s]) => ({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${s.plural}.${POLICY_API_GROUP}`, labels: { ...PART_OF_LABEL } },
    spec: {
      group: POLICY_API_GROUP,
      scope: 'Namespaced',
      names: { kind, listKind: `${kind}List`, plural: s.plural, singular: s.singular, shortNames: s.shortNames, categories: ['weft', 'policy'] },
      versions: [
        {
          name: POLICY_API_VERSION,
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: obj({ apiVersion: str(), kind: str(), metadata: { type: 'object' }, spec: s.spec }, ['spec']),
          },
        },
      ],
    },
  }));
}
