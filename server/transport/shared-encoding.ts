/**
 * Encode once, send to many: a message every watcher of a change receives (a strategy snapshot
 * to each WatchStrategy stream, an event to each WatchEvents stream, a progress message to each
 * WatchOperation stream) is built and encoded once; its bytes are kept with the message object
 * (a WeakMap, so they go when it does) and the response serializer of a definition wrapped with
 * {@link withSharedEncoding} sends them instead of encoding the message again per stream.
 */

interface MessageType<T> {
  encode(message: T): { finish(): Uint8Array };
}

interface TsProtoResponseMethod {
  responseStream: boolean;
  responseType: { encode(message: never, writer?: never): { finish(): Uint8Array }; fromPartial?(object: never): unknown };
}

const encoded = new WeakMap<object, Uint8Array>();

/**
 * Responses built from shared domain objects (`K`), each built and encoded once: `get(k)` returns
 * the same response object (with its bytes) for every stream that sends `k`.
 */
export class SharedResponses<K extends object, R extends object> {
  private readonly byKey = new WeakMap<K, R>();

  constructor(
    private readonly type: MessageType<R>,
    private readonly build: (key: K) => R,
  ) {}

  get(key: K): R {
    let r = this.byKey.get(key);
    if (!r) {
      r = this.build(key);
      encoded.set(r, this.type.encode(r).finish());
      this.byKey.set(key, r);
    }
    return r;
  }
}

/** A copy of a ts-proto service definition whose streaming responses reuse bytes encoded by {@link SharedResponses}. */
export function withSharedEncoding<D extends { methods: Record<string, TsProtoResponseMethod> }>(definition: D): D {
  const methods: Record<string, TsProtoResponseMethod> = {};
  for (const [key, m] of Object.entries(definition.methods)) {
    if (!m.responseStream) {
      methods[key] = m;
      continue;
    }
    const t = m.responseType;
    const encode = t.encode.bind(t) as (message: unknown, writer?: unknown) => { finish(): Uint8Array };
    const fromPartial = t.fromPartial?.bind(t) as ((object: unknown) => unknown) | undefined;
    methods[key] = {
      ...m,
      responseType: {
        ...t,
        encode: ((message: object, writer?: unknown) => {
          const bytes = encoded.get(message);
          return bytes ? { finish: () => bytes } : encode(message, writer);
        }) as TsProtoResponseMethod["responseType"]["encode"],
        ...(fromPartial ? { fromPartial: ((object: object) => (encoded.has(object) ? object : fromPartial(object))) as (object: never) => unknown } : {}),
      },
    };
  }
  return { ...definition, methods } as D;
}
