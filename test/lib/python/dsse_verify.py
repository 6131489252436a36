#!/usr/bin/env python3
"""Verifies a patch's signature.dsse member independently of sw-patch (standard library and
`cryptography` only): the DSSE v1 envelope, the PAE, the payload's sha256 of each signed member
against the patch's own members, and the signatures of the given public keys (Ed25519, ECDSA
P-256 with SHA-256, RSA-PSS SHA-256 salt 32), each key counted once.

Usage: dsse_verify.py PATCH THRESHOLD PUBKEY.pem...
Prints one JSON line {"valid": N, "threshold": T, "members": {...}} and exits 0 when N >= T, else 1.
"""
import base64
import hashlib
import json
import sys
import tarfile

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

PAYLOAD_TYPE = "application/vnd.sw-patch.patch-digests+json"
SIGNED = ("metadata.tar", "software.tar", "semantics.tar")


def pae(payload_type, payload):
    t = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def verify(key, sig, data):
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(sig, data)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(sig, data, ec.ECDSA(hashes.SHA256()))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(sig, data, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())
        else:
            return False
        return True
    except InvalidSignature:
        return False


def main():
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    path, threshold = sys.argv[1], int(sys.argv[2])
    keys = [serialization.load_pem_public_key(open(p, "rb").read()) for p in sys.argv[3:]]
    tar = tarfile.open(path, "r:gz")
    digests = {}
    envelope = None
    for m in tar.getmembers():
        data = tar.extractfile(m).read()
        if m.name in SIGNED:
            digests[m.name] = hashlib.sha256(data).hexdigest()
        elif m.name == "signature.dsse":
            envelope = json.loads(data)
    if envelope is None:
        raise SystemExit("no member signature.dsse")
    if envelope["payloadType"] != PAYLOAD_TYPE:
        raise SystemExit("unexpected payloadType " + envelope["payloadType"])
    payload = base64.b64decode(envelope["payload"])
    statement = json.loads(payload)
    signed = {name: v["sha256"] for name, v in statement["members"].items()}
    if signed != digests:
        raise SystemExit("payload digests %r do not match the members %r" % (signed, digests))
    message = pae(envelope["payloadType"], payload)
    valid = set()
    for s in envelope["signatures"]:
        sig = base64.b64decode(s["sig"])
        for i, k in enumerate(keys):
            if i not in valid and verify(k, sig, message):
                valid.add(i)
                break
    print(json.dumps({"valid": len(valid), "threshold": threshold, "members": signed}))
    sys.exit(0 if len(valid) >= threshold else 1)


if __name__ == "__main__":
    main()
