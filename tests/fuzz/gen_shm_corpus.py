#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Write seed inputs for fuzz_shm: valid ring contents, one per service.

Layout (see fuzz_shm.c): control byte, int8 sq_tail delta, int8 cq_head
delta, 16 SQ entries of 64 bytes, then the data area. Run from the repo root:
    python3 tests/fuzz/gen_shm_corpus.py tests/fuzz/corpus/shm
"""
import os
import struct
import sys

MSG_CREATE, MSG_DESTROY, MSG_OP, MSG_RANDOM, MSG_STATUS, MSG_NOP = range(2, 8)
ENTRIES = 16
STARTS = (0, 0xfffffff8, 0x7ffffffc, 5)  # starting index, by control bits 1-2
# In fuzzing builds the harness's tenant has tag 1, and its first session is
# slot 0, generation 1; the second is slot 1.
H = (1 << 48) | (1 << 24)


def sqe(rid, msg, req_off, req_len, out_off, out_cap, flags=0, reserved=0):
    return struct.pack("<QHHIIII9I", rid, msg, flags, req_off, req_len, out_off, out_cap,
                       reserved, *([0] * 8))


def create(service, alg, key=b"", aux=b"", tag=0):
    return struct.pack("<IIIIIIIiII", service, alg, 0, 0, 0, 0, tag, -1, len(key),
                       len(aux)) + key + aux


def op(handle, opcode, src=b"", iv=b"", aad=b"", aux=b"", dst=4096, flags=0):
    return struct.pack("<QIIIIIIII", handle, opcode, flags, dst, len(iv), len(aad), len(src),
                       len(aux), 0) + iv + aad + src + aux


class Ring:
    """Requests laid out in the data area, one SQ entry each."""

    def __init__(self):
        self.sq = b""
        self.data = bytearray()
        self.n = 0

    def add(self, msg, payload, out_cap, in_place=None, flags=0):
        off = len(self.data)
        self.data += payload
        self.data += b"\0" * (-len(self.data) % 64)
        if in_place is None:
            out = len(self.data)
            self.data += b"\0" * (out_cap + (-out_cap % 64))
        else:
            out = off + in_place
        self.n += 1
        self.sq += sqe(self.n, msg, off, len(payload), out, out_cap, flags)

    def build(self, ctl=0, tail=None, cq=0):
        assert self.n <= ENTRIES
        tail = self.n if tail is None else tail
        sq = self.sq + b"\0" * (ENTRIES * 64 - len(self.sq))
        # The first entry vsmd takes is at index start & (ENTRIES - 1).
        first = STARTS[(ctl >> 1) & 3] % ENTRIES * 64
        sq = sq[-first:] + sq[:-first] if first else sq
        return bytes([ctl, tail & 0xff, cq & 0xff]) + sq + bytes(self.data)


def seeds():
    out = {}
    r = Ring()
    r.add(MSG_NOP, b"n" * 100, 100)
    r.add(MSG_NOP, b"i" * 64, 64, in_place=0)
    r.add(MSG_RANDOM, struct.pack("<I", 32), 32)
    r.add(MSG_STATUS, b"", 80)
    out["misc"] = r.build()

    r = Ring()
    r.add(MSG_CREATE, create(1, 22), 8)
    r.add(MSG_OP, op(H, 5, b"abc", dst=32), 32)
    r.add(MSG_DESTROY, struct.pack("<Q", H), 0)
    out["hash"] = r.build()

    r = Ring()
    r.add(MSG_CREATE, create(3, 60, b"k" * 16, tag=16), 8)
    r.add(MSG_OP, op(H, 1, b"p" * 20, iv=b"n" * 12, aad=b"a" * 5, dst=36), 36)
    r.add(MSG_OP, op(H, 1, b"p" * 20, iv=b"n" * 12, aad=b"a" * 5, dst=36), 36,
          in_place=40 + 12 + 5)
    out["aead"] = r.build()

    r = Ring()
    r.add(MSG_CREATE, create(0, 3, b"k" * 16), 8)
    r.add(MSG_OP, op(H, 1, b"p" * 48, iv=b"i" * 16, dst=48), 48, in_place=40 + 16)
    r.add(MSG_OP, op(H, 2, b"p" * 48, iv=b"i" * 16, dst=48), 48)
    out["cipher"] = r.build()

    r = Ring()
    r.add(MSG_CREATE, create(2, 41, b"k" * 32), 8)
    r.add(MSG_OP, op(H, 5, b"m" * 50, flags=1, dst=0), 0)
    r.add(MSG_OP, op(H, 5, b"m", dst=32), 32)
    r.add(MSG_OP, op(H, 4, b"m", aux=b"t" * 32, dst=0), 0)
    out["mac"] = r.build()

    # Sixteen NOPs with 8 completions still unreaped: CQ full, reap, go on,
    # across the u32 wrap of the indices.
    r = Ring()
    for i in range(ENTRIES):
        r.add(MSG_NOP, bytes([i]) * 16, 16)
    out["flood-wrap"] = r.build(ctl=1 | (1 << 1), cq=-8)

    # Idle, sleep, doorbell, with the client asking for CQ doorbells.
    r = Ring()
    r.add(MSG_NOP, b"z" * 8, 8)
    out["sleep"] = r.build(ctl=(1 << 3) | (1 << 4) | (1 << 5) | (3 << 1))

    # Protocol breaks: tail backwards; nonzero flags; overlap; too big.
    r = Ring()
    r.add(MSG_NOP, b"x" * 8, 8)
    out["tail-back"] = r.build(tail=-1)
    r = Ring()
    r.add(MSG_NOP, b"x" * 8, 8, flags=1)
    out["flags"] = r.build()
    r = Ring()
    r.add(MSG_NOP, b"o" * 128, 128, in_place=64)
    r.add(MSG_NOP, b"b" * 20000, 16)
    out["overlap-toobig"] = r.build()
    return out


dest = sys.argv[1] if len(sys.argv) > 1 else "tests/fuzz/corpus/shm"
os.makedirs(dest, exist_ok=True)
for name, body in seeds().items():
    with open(os.path.join(dest, name), "wb") as f:
        f.write(body)
