#!/usr/bin/env python3
"""Independent reference for the GhostLine v2 MAC and sealed-message format (plain Python big
integers, no shared code with the Rust crate). Writes sealed_message_v2.json:
    python3 generate.py > sealed_message_v2.json
Version 2: a message uses whole 256-byte chunks of pad; the MAC key is the first chunk's 64-byte
key area and the keystream is the chunks' 192-byte bodies, in order.
Each positive vector gives the pad bytes used by one message, the header fields, the plaintext and
the expected wire bytes; negative vectors give wire bytes that must be rejected with that pad."""
import hashlib, json, struct

P = 2**256 - 189

def det_bytes(label, n):
    out = b""
    i = 0
    while len(out) < n:
        out += hashlib.sha256(f"{label}/{i}".encode()).digest()
        i += 1
    return out[:n]

def mac(pad64, data):
    r = int.from_bytes(pad64[:32], "little") % P
    s = int.from_bytes(pad64[32:64], "little") % P
    blocks = [int.from_bytes(data[i:i + 31], "little") for i in range(0, len(data), 31)]
    blocks.append(len(data))
    acc = 0
    for c in blocks:
        acc = (acc + c) * r % P
    return ((acc + s) % P).to_bytes(32, "little")

CHUNK, KEY = 256, 64

def consumption(n):
    return max(1, -(-n // (CHUNK - KEY))) * CHUNK

def keystream(pad):
    return b"".join(pad[i + KEY:i + CHUNK] for i in range(0, len(pad), CHUNK))

def header(pad_id, sender, offset, length):
    return b"GL\x02" + pad_id + struct.pack(">HQI", sender, offset, length)

def seal(pad, pad_id, sender, offset, text):
    h = header(pad_id, sender, offset, len(text))
    ct = bytes(a ^ b for a, b in zip(text, keystream(pad)))
    return h + ct + mac(pad[:64], h + ct)

vectors = []
for n, (size, sender, offset) in enumerate([(0, 0, 0), (1, 1, 64), (24, 2, 4096), (30, 0, 7),
                                            (31, 3, 1 << 40), (32, 1, 12345), (33, 0, 99),
                                            (62, 5, 0), (100, 1, 2**64 - 1000), (1000, 2, 31),
                                            (192, 1, 256), (193, 2, 512), (384, 0, 1024)]):
    pad = det_bytes(f"pad{n}", consumption(size))
    pad_id = det_bytes(f"id{n}", 16)
    text = det_bytes(f"text{n}", size)
    wire = seal(pad, pad_id, sender, offset, text)
    vectors.append({"name": f"size {size}", "valid": True, "pad": pad.hex(), "pad_id": pad_id.hex(),
                    "sender": sender, "offset": offset, "plaintext": text.hex(), "wire": wire.hex()})
    bad = bytearray(wire); bad[-1] ^= 1
    vectors.append({"name": f"size {size}, tag bit flipped", "valid": False, "pad": pad.hex(),
                    "wire": bytes(bad).hex()})
    if size:
        bad = bytearray(wire); bad[33] ^= 0x80
        vectors.append({"name": f"size {size}, ciphertext bit flipped", "valid": False,
                        "pad": pad.hex(), "wire": bytes(bad).hex()})
    bad = bytearray(wire); bad[20] ^= 1
    vectors.append({"name": f"size {size}, sender changed", "valid": False, "pad": pad.hex(),
                    "wire": bytes(bad).hex()})
# The seed's collision: M = 32 zero bytes vs M' = p, same tag.
pad = det_bytes("seed-flaw", consumption(32))
pad_id = det_bytes("seed-flaw-id", 16)
m = bytes(32)
mp = P.to_bytes(32, "big")
wire = seal(pad, pad_id, 1, 0, m)
forged = bytearray(wire)
for i in range(32):
    forged[33 + i] ^= m[i] ^ mp[i]
vectors.append({"name": "seed flaw: M + p with M's tag", "valid": False, "pad": pad.hex(),
                "wire": bytes(forged).hex()})
print(json.dumps({"format": "GhostLine sealed message v2", "vectors": vectors}, indent=1))
