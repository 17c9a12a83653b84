#!/usr/bin/env python3
"""Writes the seed corpus of the segment fuzzer (tests/fuzz/segment_fuzz.cpp) to tests/fuzz/corpus/.

    python3 tests/fuzz/make_corpus.py [directory]

Each seed is one input in the harness's format (see the comment at the top of
segment_fuzz.cpp): composition, shape, plan, patches, operations. The seeds give the fuzzer a
start on every sync core and both storages, and on the header fields and control words a
hostile peer would go for first; libFuzzer mutates from there. Offsets below 1624 are in
the segment header (its layout is fixed: segment_header.hpp); the control block starts at
1664 for every core. The last seeds are inputs that once hung the semaphore core, kept as
regression inputs.
"""
import os
import struct
import sys

STORAGES = ["shared_memory", "memfd"]
ORDERINGS = ["block", "discard_new", "discard_old", "always_last"]
SYNCS = ["mutex", "spsc", "semaphore"]

# Header offsets (policies/polychan/storage/detail/segment_header.hpp).
MAGIC, STATE, CAPACITY, CONTROL_OFFSET, OWNERS, ROLES = 0, 12, 464, 504, 568, 1592
CONTROL = 1664  # round_up(sizeof(segment_header) = 1624, 64)

# Operations: kind | 8 (through the second handle) | variant << 4.
TRY_WRITE, TRY_READ, WRITE_FOR, READ_FOR, BEGIN_WRITE, BEGIN_READ, SIZES, CLOSE = range(8)
SECOND = 8
MIX = [TRY_WRITE, TRY_READ, TRY_WRITE | SECOND, TRY_READ | SECOND, WRITE_FOR, READ_FOR | SECOND,
       BEGIN_WRITE | 0x10, BEGIN_READ, BEGIN_WRITE | SECOND, BEGIN_READ | SECOND, SIZES, SIZES | SECOND,
       TRY_WRITE, TRY_WRITE, CLOSE | 0x30, TRY_READ, TRY_READ | SECOND, TRY_WRITE | SECOND]


def seed(storage, ordering, sync, capacity=4, prewrites=2, hold_write=False, hold_read=False, patches=(),
         second_writer=True, second_reader=True, drop_first=False, ops=MIX):
    composition = STORAGES.index(storage) * 12 + ORDERINGS.index(ordering) * 3 + SYNCS.index(sync)
    shape = (capacity - 1) | prewrites << 3 | hold_write << 6 | hold_read << 7
    plan = len(patches) | second_writer << 5 | second_reader << 6 | drop_first << 7
    out = bytes([composition, shape, plan])
    for offset, data in patches:
        assert 1 <= len(data) <= 8
        out += struct.pack("<HB", offset, len(data) - 1) + data
    return out + bytes(ops)


def u32(v):
    return struct.pack("<I", v)


def u64(v):
    return struct.pack("<Q", v)


SEEDS = {
    # No patch: the operations alone, on every sync core and both storages.
    "clean-shm-block-mutex": seed("shared_memory", "block", "mutex"),
    "clean-memfd-discard_old-mutex": seed("memfd", "discard_old", "mutex", hold_write=True),
    "clean-shm-discard_new-spsc": seed("shared_memory", "discard_new", "spsc", drop_first=True),
    "clean-memfd-always_last-spsc": seed("memfd", "always_last", "spsc", capacity=1, hold_read=True),
    "clean-shm-always_last-semaphore": seed("shared_memory", "always_last", "semaphore", capacity=8, prewrites=7),
    "clean-memfd-block-semaphore": seed("memfd", "block", "semaphore", hold_write=True, hold_read=True),
    # The header: what open checks, what keeps or removes a segment.
    "header-magic": seed("shared_memory", "block", "mutex", patches=[(MAGIC, b"XXXXXXXX")]),
    "header-state-initialising": seed("memfd", "always_last", "spsc", patches=[(STATE, u32(0))]),
    "header-state-removed": seed("shared_memory", "discard_old", "semaphore", patches=[(STATE, u32(2))]),
    "header-capacity": seed("shared_memory", "block", "spsc", patches=[(CAPACITY, u64(0xFFFFFFFF))]),
    "header-control-offset": seed("memfd", "discard_new", "semaphore", patches=[(CONTROL_OFFSET, u64(8))]),
    # An owner record naming pid 1 (alive, any start time): the segment is kept, by design.
    "header-owner-pid1": seed("shared_memory", "block", "mutex", patches=[(OWNERS + 16, u64(1))]),
    # The spsc roles cleared: the second handle takes the writer and reader ends too.
    "header-roles-cleared": seed("shared_memory", "block", "spsc", patches=[(ROLES, u64(0)), (ROLES + 16, u64(0))]),
    # The control block: list heads, positions, permit words.
    "control-mutex-heads": seed("memfd", "discard_old", "mutex", patches=[(CONTROL + 48, u64(0xFFFFFFF0FFFFFFF0))]),
    "control-spsc-tail": seed("memfd", "block", "spsc", patches=[(CONTROL, u64(1 << 40))]),
    "control-semaphore-permits": seed("shared_memory", "block", "semaphore", patches=[(CONTROL, u64(0x7F))]),
    # Inputs that made the semaphore core spin for ever before its rings were watched.
    "regression-semaphore-ready-push": bytes.fromhex("2665650008171b012000"),
    "regression-semaphore-pop": bytes.fromhex("3b000103cdcdcdcdcdcdcd2e01"),
}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    directory = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "corpus")
    os.makedirs(directory, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(directory, name), "wb") as f:
            f.write(data)
    print(f"{len(SEEDS)} seeds in {directory}")


if __name__ == "__main__":
    main()
