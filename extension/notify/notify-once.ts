/**
 * "Say it once per cause": background failures (a watch that drops, a metrics API that stops
 * answering, a kubeconfig that goes bad) are reported the first time a cause appears and not
 * again while it stands; when the cause goes away (resolve) the next occurrence is news again.
 * Pure: the caller decides what a cause's key is and shows the message itself.
 */
export class NotifyOnce {
  private readonly standing = new Map<string, string>();

  /** True when `key` is a new cause (the caller shows `message`); false while it already stands. */
  report(key: string, message: string): boolean {
    if (this.standing.has(key)) return false;
    this.standing.set(key, message);
    return true;
  }

  /** The cause went away: its next occurrence is reported again. */
  resolve(key: string): void {
    this.standing.delete(key);
  }

  /** Every cause whose key starts with `prefix` went away (e.g. all of one connection's); returns how many stood. */
  resolvePrefix(prefix: string): number {
    let n = 0;
    for (const key of [...this.standing.keys()]) if (key.startsWith(prefix) && this.standing.delete(key)) n++;
    return n;
  }

  isStanding(key: string): boolean {
    return this.standing.has(key);
  }

  /** The standing causes' messages, oldest first. */
  messages(): string[] {
    return [...this.standing.values()];
  }
}
