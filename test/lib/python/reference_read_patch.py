#!/usr/bin/env python3
"""Reads a .patch the way the reference reader does (cgcs_patch PatchFile.read_patch and
patch_verify.verify_files), with the standard library and `cryptography` only, so that a patch
carrying our extra member (signature.dsse) can be shown to stay readable by the reference.

Usage: reference_read_patch.py PATCH CERT_OR_PUBKEY.pem
Prints one JSON line {"id", "sw_version", "members"} and exits 0, or prints the reference's error
text ("Patch failed verification", "Signature check failed", "Patch has not been signed") and
exits 1.
"""
import hashlib
import json
import os
import sys
import tarfile
import tempfile
import xml.etree.ElementTree as ElementTree

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, utils


def load_public_key(path):
    data = open(path, "rb").read()
    if b"BEGIN CERTIFICATE" in data:
        return x509.load_pem_x509_certificate(data).public_key()
    return serialization.load_pem_public_key(data)


def get_md5(path):
    return int(hashlib.md5(open(path, "rb").read()).hexdigest(), 16)


def verify_files(filenames, signature_file, key):
    # patch_verify.verify_files: SHA256 over the files' bytes, in order; PSS first, then PKCS#1 v1.5.
    h = hashlib.sha256()
    for f in filenames:
        h.update(open(f, "rb").read())
    digest = h.digest()
    sig = open(signature_file, "rb").read()
    prehashed = utils.Prehashed(hashes.SHA256())
    try:
        key.verify(sig, digest, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), prehashed)
        return True
    except InvalidSignature:
        pass
    try:
        key.verify(sig, digest, padding.PKCS1v15(), prehashed)
        return True
    except InvalidSignature:
        return False


def read_patch(path, key):
    tar = tarfile.open(path, "r:gz")
    names = [f.name for f in tar.getmembers()]
    filelist = ["metadata.tar", "software.tar"]
    if "semantics.tar" in names:
        filelist.append("semantics.tar")
    for f in filelist:
        tar.extract(f)
    tar.extract("signature")
    try:
        tar.extract("signature.v2")
    except KeyError:
        raise SystemExit("Patch has not been signed")
    sig = int(open("signature", "r").read(), 16)
    for f in filelist:
        sig ^= get_md5(f)
    if sig != 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF:
        raise SystemExit("Patch failed verification")
    if not verify_files(filelist, "signature.v2", key):
        raise SystemExit("Signature check failed")
    tarfile.open("metadata.tar").extractall()
    tarfile.open("software.tar").extractall()
    if os.path.exists("semantics.tar"):
        tarfile.open("semantics.tar").extractall()
    root = ElementTree.parse("metadata.xml").getroot()
    return {"id": root.findtext("id"), "sw_version": root.findtext("sw_version"), "members": names}


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    patch = os.path.abspath(sys.argv[1])
    key = load_public_key(sys.argv[2])
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="patch_") as tmp:
        os.chdir(tmp)
        try:
            print(json.dumps(read_patch(patch, key)))
        finally:
            os.chdir(cwd)


if __name__ == "__main__":
    main()
