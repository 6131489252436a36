import { ServerError, Status } from "nice-grpc";

/**
 * @internal Fills the methods a fake service leaves out with UNIMPLEMENTED handlers, so a unit
 * test only writes the handlers it needs.
 */
export function completeService<T>(definition: Record<string, { responseStream: boolean }>, partial: Partial<T>): T {
  const impl: Record<string, unknown> = { ...partial };
  for (const [name, method] of Object.entries(definition)) {
    if (impl[name]) continue;
    impl[name] = method.responseStream
      ? async function* () {
          throw new ServerError(Status.UNIMPLEMENTED, `${name} not faked`);
        }
      : async () => {
          throw new ServerError(Status.UNIMPLEMENTED, `${name} not faked`);
        };
  }
  return impl as T;
}
