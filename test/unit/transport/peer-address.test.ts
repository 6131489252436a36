import { expect } from "chai";
import { peerIp } from "../../../server/transport/peer-address.js";

describe("the peer address of a call", () => {
  it("reads the address grpc-js gives (address:port, IPv6 and IPv4-mapped included) and the gRPC URI forms", () => {
    expect(peerIp("127.0.0.1:40123")).to.equal("127.0.0.1");
    expect(peerIp("::1:40123")).to.equal("::1");
    expect(peerIp("::ffff:192.168.204.7:40123")).to.equal("192.168.204.7");
    expect(peerIp("fe80::1:2:40123")).to.equal("fe80::1:2");
    expect(peerIp("ipv4:10.0.0.5:5")).to.equal("10.0.0.5");
    expect(peerIp("ipv6:[::1]:5")).to.equal("::1");
    expect(peerIp("[2001:db8::7]:5")).to.equal("2001:db8::7");
    expect(peerIp("10.0.0.5")).to.equal("10.0.0.5");
  });

  it("gives no address for what is not one (a Unix socket's 'unknown', garbage)", () => {
    for (const p of ["unknown", "", "localhost:5", "unix:/tmp/s", "1.2.3.4.5:6", "[nope]:1"]) expect(peerIp(p), p).to.equal("");
  });
});
