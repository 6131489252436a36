/** A FIFO async mutex: `run` executes bodies one at a time, in call order. */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(body: () => Promise<T>): Promise<T> {
    const p = this.tail.then(body, body);
    this.tail = p.catch(() => undefined);
    return p;
  }
}
