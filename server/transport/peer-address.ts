import { isIP } from "node:net";

/**
 * The IP address a call comes from, "" when there is none (a Unix socket: "unknown"). grpc-js
 * gives `address:port` (`127.0.0.1:5`, `::1:5`, `::ffff:127.0.0.1:5`); the gRPC URI forms
 * (`ipv4:1.2.3.4:5`, `ipv6:[::1]:5`) and bracketed IPv6 are read too. An IPv4-mapped IPv6
 * address is given as IPv4.
 */
export function peerIp(peer: string): string {
  let s = peer.replace(/^ipv[46]:/, "");
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(s);
  if (bracketed) s = bracketed[1]!;
  else {
    // grpc-js always appends the port: "::1:5" is "::1" port 5 (though itself a valid IPv6 address).
    const port = /:\d+$/.exec(s);
    if (port && isIP(s.slice(0, port.index))) s = s.slice(0, port.index);
  }
  if (!isIP(s)) return "";
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(s);
  return mapped ? mapped[1]! : s;
}
