/** RFC 6902 JSON Patch operations and RFC 6901 JSON Pointer escaping, as the injector emits them. */
export type JsonPatchOp =
  | { op: 'add'; path: string; value: unknown }
  | { op: 'replace'; path: string; value: unknown }
  | { op: 'remove'; path: string }
  | { op: 'test'; path: string; value: unknown };

/** Escapes one reference token: `~` → `~0`, then `/` → `~1` (annotation keys such as `weft.dev/inject`). */
export function escapePointerToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** A JSON Pointer from unescaped tokens: pointer('metadata', 'annotations', 'weft.dev/inject'). */
export function pointer(...tokens: (string | number)[]): string {
  return tokens.map((t) => '/' + escapePointerToken(String(t))).join('');
}
