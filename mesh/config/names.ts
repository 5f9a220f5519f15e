/** Product-level names shared by every part of Weft, the extension included. */
export const PRODUCT = 'Weft';
export const CLI_NAME = 'weft';
export const CONTROL_PLANE_NAMESPACE = 'weft';
export const PROXY_CONTAINER = 'weft-proxy';
export const INIT_CONTAINER = 'weft-init';
export const DEFAULT_TRUST_DOMAIN = 'cluster.local';

/** Ports that skip protocol detection by default (server-speaks-first protocols). */
export const DEFAULT_OPAQUE_PORTS: readonly number[] = [25, 587, 3306, 4444, 5432, 6379, 9300, 11211];
