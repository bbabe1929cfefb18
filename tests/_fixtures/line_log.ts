/**
 * Reads a child process's output line by line into memory, so its pipe never
 * fills (a full pipe would stall the server under test) and the lines can be
 * shown when a case fails. Waiters are woken as lines arrive: nothing polls.
 */
export class LineLog {
  /** Every line read so far, in order. */
  readonly lines: string[] = [];
  /** Settles when the stream ended (EOF or error). */
  readonly done: Promise<void>;
  #waiters = new Set<() => void>();
  #ended = false;

  /** @param stream a child's stdout or stderr */
  constructor(stream: ReadableStream<Uint8Array>) {
    this.done = this.#pump(stream);
  }

  /**
   * Resolves with the first line (already read or still to come) for which
   * `pick` returns a value; rejects when the stream ends first or after
   * `timeoutMs`.
   */
  waitFor<T>(
    pick: (line: string) => T | undefined,
    timeoutMs: number,
  ): Promise<T> {
    let checked = 0;
    const scan = (): T | undefined => {
      for (; checked < this.lines.length; checked++) {
        const value = pick(this.lines[checked]);
        if (value !== undefined) return value;
      }
    };
    const ready = scan();
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise<T>((resolve, reject) => {
      const finish = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      const check = () => {
        const value = scan();
        if (value !== undefined) {
          finish();
          resolve(value);
        } else if (this.#ended) {
          finish();
          reject(new Error("Cannot find the line: the output ended first"));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`Cannot find the line: not within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.add(check);
    });
  }

  /** The last `n` lines, for failure messages. */
  tail(n = 40): string {
    return this.lines.slice(-n).join("\n");
  }

  async #pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    let partial = "";
    try {
      for await (const text of stream.pipeThrough(new TextDecoderStream())) {
        const parts = (partial + text).split("\n");
        partial = parts.pop() ?? "";
        this.lines.push(...parts);
        this.#notify();
      }
    } catch {
      // the child died mid-write: what was read is all there is
    }
    if (partial !== "") this.lines.push(partial);
    this.#ended = true;
    this.#notify();
  }

  #notify(): void {
    for (const check of [...this.#waiters]) check();
  }
}
