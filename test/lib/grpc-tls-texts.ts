/** grpc-js status texts captured from real handshakes (grpc-js 1.14, Node 20). */
export const GRPC_TLS_TEXTS = {
  unknownCa: "/swpatch.v1.PatchService/QueryPatches UNAVAILABLE: No connection established. Last error: Error: unable to verify the first certificate. Resolution note: ",
  nameMismatch:
    "/grpc.health.v1.Health/Check UNAVAILABLE: No connection established. Last error: Error [ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match certificate's altnames: Host: ctl.example. is not cert's CN: 127.0.0.1. Resolution note: ",
  noClientCert:
    "/grpc.health.v1.Health/Check UNAVAILABLE: No connection established. Last error: 804C6BFFBB7F0000:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 116\n (2026-12-03T15:35:57.634Z). Resolution note: ",
  plaintextServer:
    "/grpc.health.v1.Health/Check UNAVAILABLE: No connection established. Last error: Error: 804C6BFFBB7F0000:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:350:\n. Resolution note: ",
  refused: "/grpc.health.v1.Health/Check UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED 127.0.0.1:1. Resolution note: ",
};
