#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Write seed inputs for fuzz_conn: valid request streams, one per service.

Byte 0 of an input is the harness's control byte (0x80: a HELLO is sent
first; low 6 bits: delivery chunk size - 1). Run from the repo root:
    python3 tests/fuzz/gen_conn_corpus.py tests/fuzz/corpus/conn
"""
import os
import struct
import sys

MSG_HELLO, MSG_CREATE, MSG_DESTROY, MSG_OP, MSG_RANDOM, MSG_STATUS, MSG_NOP = range(1, 8)


def frame(op, rid, payload=b""):
    return struct.pack("<IHHHHHHQ", len(payload), 0x5653, op, 0, 0, 0, 0, rid) + payload


def create(service, alg, key=b"", aux=b"", padding=0, hash_=0, tag=0, flags=0):
    return struct.pack("<IIIIIIIiII", service, alg, flags, padding, hash_, 0, tag, -1,
                       len(key), len(aux)) + key + aux


def op(handle, opcode, src=b"", iv=b"", aad=b"", aux=b"", dst=4096, flags=0):
    return struct.pack("<QIIIIIIII", handle, opcode, flags, dst, len(iv), len(aad), len(src),
                       len(aux), 0) + iv + aad + src + aux


def hello():
    return frame(MSG_HELLO, 1, struct.pack("<HHI", 1, 1, 3))


# In fuzzing builds the harness's tenant has tag 1, and its first session is
# slot 0, generation 1.
H = (1 << 48) | (1 << 24)
seeds = {
    "hash": hello() + frame(MSG_CREATE, 2, create(1, 22)) + frame(MSG_OP, 3, op(H, 5, b"abc")),
    "cipher": frame(MSG_CREATE, 2, create(0, 2, b"k" * 16)) +
    frame(MSG_OP, 3, op(H, 1, b"p" * 32, iv=b"i" * 16)),
    "aead": frame(MSG_CREATE, 2, create(3, 60, b"k" * 16, tag=16)) +
    frame(MSG_OP, 3, op(H, 1, b"p" * 20, iv=b"n" * 12, aad=b"a" * 5)),
    "mac": frame(MSG_CREATE, 2, create(2, 41, b"k" * 32)) +
    frame(MSG_OP, 3, op(H, 5, b"m" * 50, flags=1)) + frame(MSG_OP, 4, op(H, 5, b"m")),
    "misc": frame(MSG_RANDOM, 2, struct.pack("<I", 32)) + frame(MSG_STATUS, 3) +
    frame(MSG_NOP, 4, b"x" * 40) + frame(MSG_DESTROY, 5, struct.pack("<Q", H)),
    "sm2": frame(MSG_CREATE, 2, create(4, 82, b"\x30\x03\x02\x01\x01", aux=b"ALICE")),
}

out = sys.argv[1] if len(sys.argv) > 1 else "tests/fuzz/corpus/conn"
os.makedirs(out, exist_ok=True)
for name, body in seeds.items():
    ctl = 0x80 | 0x3f if not body.startswith(hello()[:8]) else 0x3f
    with open(os.path.join(out, name), "wb") as f:
        f.write(bytes([ctl]) + body)
