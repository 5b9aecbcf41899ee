#!/usr/bin/env python3
"""An independent implementation of the Jieyue protocol's cryptography, in Python with
the `cryptography` package, checked against the known-answer vectors in this folder.

If this script and the Rust tests both pass, two implementations agree byte for byte.
Run: python3 protocol/tests/vectors/check_vectors.py
"""
import base64
import hashlib
import json
import pathlib
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

HERE = pathlib.Path(__file__).parent


def load(name):
    return json.loads((HERE / name).read_text(encoding="utf-8"))


def b64d(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64e(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hkdf32(salt, ikm, info):
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(ikm)


def uuid_bytes(text):
    return bytes.fromhex(text.replace("-", ""))


def verify_jws(token, public_key, typ):
    header_b64, payload_b64, signature_b64 = token.split(".")
    header = json.loads(b64d(header_b64))
    assert header["alg"] == "EdDSA" and header["typ"] == typ, header
    public_key.verify(b64d(signature_b64), f"{header_b64}.{payload_b64}".encode())
    return header, json.loads(b64d(payload_b64))


def main():
    signing = load("signing.json")
    issuer = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(signing["seed"]))
    public = issuer.public_key()
    raw_public = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert raw_public.hex() == signing["public_key"]
    assert hashlib.sha256(raw_public).digest()[:8].hex() == signing["key_id"]
    header, payload = verify_jws(signing["jws"], public, signing["typ"])
    assert header["kid"] == signing["key_id"] and payload == signing["payload"]
    # Ed25519 is deterministic: signing the same input gives the same token.
    header_b64, payload_b64, _ = signing["jws"].split(".")
    assert b64e(issuer.sign(f"{header_b64}.{payload_b64}".encode())) == signing["jws"].split(".")[2]

    enrolment = load("enrolment.json")
    client = X25519PrivateKey.from_private_bytes(bytes.fromhex(enrolment["client_private_key"]))
    server = X25519PrivateKey.from_private_bytes(bytes.fromhex(enrolment["server_private_key"]))
    client_public = client.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    server_public = server.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert client_public.hex() == enrolment["client_public_key"]
    assert server_public.hex() == enrolment["server_public_key"]
    shared = client.exchange(X25519PublicKey.from_public_bytes(server_public))
    device_key = hkdf32(uuid_bytes(enrolment["device_id"]), shared,
                        b"jieyue/device-key/v1" + client_public + server_public)
    assert device_key.hex() == enrolment["device_key"]
    _, reply = verify_jws(enrolment["reply_jws"], public, "jieyue-enrolment+jws")
    assert b64d(reply["server_public_key"]) == server_public

    licence = load("licence.json")
    terms = licence["terms"]
    kek = hkdf32(uuid_bytes(terms["id"]), bytes.fromhex(licence["device_key"]), b"jieyue/licence-key-wrap/v1")
    aad = b"jieyue/licence/v1" + uuid_bytes(terms["id"]) + uuid_bytes(terms["publication_id"]) + uuid_bytes(terms["device_id"])
    wrapped = bytes.fromhex(licence["wrapped_content_key"])
    assert wrapped[:12].hex() == licence["wrap_nonce"]
    assert AESGCM(kek).decrypt(wrapped[:12], wrapped[12:], aad).hex() == licence["content_key"]
    _, payload = verify_jws(licence["jws"], public, "jieyue-licence+jws")
    assert b64d(payload["content_key"]["value"]) == wrapped

    status = load("status.json")
    _, payload = verify_jws(status["jws"], public, "jieyue-status+jws")
    assert payload == status["document"]

    chunks = load("package_chunks.json")
    key = AESGCM(bytes.fromhex(chunks["content_key"]))
    prefix = bytes.fromhex(chunks["nonce_prefix"])
    assert key.encrypt(bytes(12), b"", b"jieyue/key-check/v1").hex() == chunks["key_check"]
    for case in chunks["cases"]:
        length = int(case["plaintext"].split(",")[1].split()[0])
        plain = bytes(i * 7 % 256 for i in range(length))
        aad = b"jieyue/chunk/v1\0" + case["path"].encode() + b"\0" + b"\0" + length.to_bytes(8, "big")
        assert aad.hex() == case["aad"]
        pieces = [plain[i * 65536:(i + 1) * 65536] for i in range(length // 65536 + 1)]
        sealed = b""
        for index, piece in enumerate(pieces):
            flag = b"\x02" if index == len(pieces) - 1 else b"\x01"
            sealed += key.encrypt(prefix + index.to_bytes(4, "big") + flag, piece, aad)
        assert hashlib.sha256(sealed).hexdigest() == case["ciphertext_sha256"], case["path"]
        assert sealed[:32].hex() == case["ciphertext_head"]

    sealed_key = load("sealed_key.json")
    version, key_id, body = sealed_key["sealed"].split(".")
    raw = b64d(body)
    aad = b"jieyue/sealed-key/v1\0" + key_id.encode() + b"\0" + sealed_key["context"].encode()
    assert raw[:12].hex() == sealed_key["nonce"]
    assert AESGCM(bytes.fromhex(sealed_key["master_key"])).decrypt(raw[:12], raw[12:], aad).hex() == sealed_key["secret"]

    print("all protocol vectors verified independently")


if __name__ == "__main__":
    sys.exit(main())
