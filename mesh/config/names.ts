/** Product-level names shared by every part of Weft, the extension included. */
export const PRODUCT = 'Weft';
export const CLI_NAME = 'weft';
export const CONTROL_PLANE_NAMESPACE = 'weft';
export const PROXY_CONTAINER = 'weft-proxy';
export const INIT_CONTAINER = 'weft-init';
export const DEFAULT_TRUST_DOMAIN = 'cluster.local';

/** Ports that skip protocol detection by default (server-speaks-first protocols). */
export const DEFAULT_OPAQUE_PORTS: readonly number[] = [25, 587, 3306, 4444, 5432, 6379, 9300, 11211];

/** The cluster's pod and node networks for the `cluster-*` inbound policies (Linkerd's default `clusterNetworks`). */
export const DEFAULT_CLUSTER_NETWORKS: readonly string[] = ['10.0.0.0/8', '100.64.0.0/10', '172.16.0.0/12', '192.168.0.0/16'];
/** Local mode runs every workload on this machine: its cluster networks add loopback. */
export const LOCAL_CLUSTER_NETWORKS: readonly string[] = [...DEFAULT_CLUSTER_NETWORKS, '127.0.0.0/8', '::1/128'];
/** API group of Weft's policy resources (Server, AuthorizationPolicy, MeshTLSAuthentication, NetworkAuthentication). */
export const POLICY_API_GROUP = 'policy.weft.dev';

/** What the injector adds to a pod: volume names and where they are mounted in weft-proxy. */
export const INJECTED_VOLUMES = {
  /** emptyDir {medium: Memory}: the proxy's key and certificate never touch a disk. */
  identity: 'weft-identity-end-entity',
  /** projected ServiceAccount token (audience IDENTITY_TOKEN_AUDIENCE). */
  token: 'weft-identity-token',
  /** emptyDir for iptables' /run/xtables.lock in weft-init (its root filesystem is read-only). */
  xtablesLock: 'weft-init-xtables-lock',
} as const;
export const PROXY_IDENTITY_DIR = '/var/run/weft/identity/end-entity';
export const PROXY_TOKEN_DIR = '/var/run/secrets/tokens';
export const PROXY_TOKEN_FILE = 'weft-identity-token';

/** The version every part reports (proxy_build_info, the injected proxy's annotation). */
export const WEFT_VERSION = '0.1.0';
