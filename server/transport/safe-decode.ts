/**
 * Requests that do not decode as their message type reach the handlers as a marker instead of
 * making grpc-js answer INTERNAL ("Error deserializing request"); the error middleware turns the
 * marker into INVALID_ARGUMENT naming the problem, so a client can tell bad input from a fault.
 */
const DECODE_ERROR = Symbol("swpatch.decodeError");

export interface DecodeFailure {
  [DECODE_ERROR]: string;
}

export function decodeFailureOf(value: unknown): string | undefined {
  if (value && typeof value === "object" && DECODE_ERROR in value) return (value as DecodeFailure)[DECODE_ERROR];
  return undefined;
}

interface TsProtoMethod {
  requestType: { decode(input: Uint8Array, length?: number): unknown };
}

/** A copy of a ts-proto service definition whose request decoding never throws. */
export function withSafeDecoding<D extends { methods: Record<string, TsProtoMethod> }>(definition: D): D {
  const methods: Record<string, TsProtoMethod> = {};
  for (const [key, m] of Object.entries(definition.methods)) {
    const decode = m.requestType.decode.bind(m.requestType);
    methods[key] = {
      ...m,
      requestType: {
        ...m.requestType,
        decode: (input: Uint8Array, length?: number) => {
          try {
            return decode(input, length);
          } catch (e) {
            return { [DECODE_ERROR]: (e as Error)?.message ?? String(e) } satisfies DecodeFailure;
          }
        },
      },
    };
  }
  return { ...definition, methods } as D;
}
