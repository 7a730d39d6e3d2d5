#!/usr/bin/env python3
"""Drops the `::h0123456789abcdef` hash suffix from every function name in a wasm module's name section.

worker-build keeps the name section so that Worker stack traces name Rust functions. The suffix is the
linker's disambiguator: 19 bytes of random hex per function (about 3,900 of them in the Worker), which
gzip cannot compress and which say nothing to a person reading a trace. Everything else in the module
is copied byte for byte.

usage: trim-wasm-names.py MODULE.wasm   (rewrites the file in place; prints the sizes)
"""

import re
import sys

HASH_SUFFIX = re.compile(rb"::h[0-9a-f]{16}")
FUNCTION_NAMES = 1


def read_leb(data, pos):
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


def leb(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def trimmed_function_names(payload):
    count, pos = read_leb(payload, 0)
    out = bytearray(leb(count))
    for _ in range(count):
        index, pos = read_leb(payload, pos)
        length, pos = read_leb(payload, pos)
        name = HASH_SUFFIX.sub(b"", payload[pos : pos + length])
        pos += length
        out += leb(index) + leb(len(name)) + name
    if pos != len(payload):
        raise ValueError("function-names subsection has trailing bytes")
    return bytes(out)


def trimmed_name_section(body):
    out = bytearray()
    pos = 0
    while pos < len(body):
        kind = body[pos]
        size, start = read_leb(body, pos + 1)
        payload = body[start : start + size]
        if kind == FUNCTION_NAMES:
            payload = trimmed_function_names(payload)
        out += bytes([kind]) + leb(len(payload)) + payload
        pos = start + size
    return bytes(out)


def trim(module):
    if module[:4] != b"\0asm":
        raise ValueError("not a wasm module")
    out = bytearray(module[:8])
    pos = 8
    while pos < len(module):
        section_id = module[pos]
        size, start = read_leb(module, pos + 1)
        content = module[start : start + size]
        pos = start + size
        if section_id == 0:
            name_length, name_start = read_leb(content, 0)
            name = content[name_start : name_start + name_length]
            if name == b"name":
                body = trimmed_name_section(content[name_start + name_length :])
                content = leb(len(name)) + name + body
        out += bytes([section_id]) + leb(len(content)) + content
    return bytes(out)


def main():
    path = sys.argv[1]
    with open(path, "rb") as f:
        module = f.read()
    trimmed = trim(module)
    with open(path, "wb") as f:
        f.write(trimmed)
    print(f"{path}: {len(module)} -> {len(trimmed)} bytes (function-name hash suffixes dropped)")


if __name__ == "__main__":
    main()
