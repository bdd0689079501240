#!/usr/bin/env python3
"""An independent SIU peer for telsec's interop test (tests/siu_python.rs).

Written from the layout in crates/vpn/src/siu.rs's module doc only, with the
standard library (struct, hmac, hashlib), so that a Rust test passing
against it shows the octets are what the doc says.

  build-siu KEY ID HOME OLD NEW PORT LIFETIME SPI REPLY [FLAGS]
      print the hex of a sealed SIU (KEY, REPLY in hex; ID decimal or 0x..)
  parse-siu KEY HEX
      verify a sealed SIU, print its fields as key=value lines
  check-ack KEY HEX
      verify a sealed SIU-Ack, print its fields as key=value lines

Exit status 1 and "bad-mac" or "malformed: ..." on stderr when a message
does not verify or parse.
"""

import hashlib
import hmac
import ipaddress
import struct
import sys

SIU_HEAD = struct.Struct(">BBHQ4s4s4sHHIH")  # 34 octets, up to Reply Length
ACK_BODY = struct.Struct(">BBHQ4sBBI")  # 22 octets, up to the authenticator
MAC_LEN = 32


def mac(key, data):
    return hmac.new(key, data, hashlib.sha256).digest()


def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def verify(key, msg):
    body, tag = msg[:-MAC_LEN], msg[-MAC_LEN:]
    if not hmac.compare_digest(mac(key, body), tag):
        fail("bad-mac")
    return body


def ip(text):
    return ipaddress.IPv4Address(text).packed


def build_siu(args):
    key = bytes.fromhex(args[0])
    ident = int(args[1], 0)
    reply = bytes.fromhex(args[8])
    flags = int(args[9], 0) if len(args) > 9 else 0
    length = SIU_HEAD.size + len(reply) + MAC_LEN
    body = SIU_HEAD.pack(
        1, flags, length, ident, ip(args[2]), ip(args[3]), ip(args[4]),
        int(args[5]), int(args[6]), int(args[7]), len(reply),
    ) + reply
    print((body + mac(key, body)).hex())


def parse_siu(args):
    key = bytes.fromhex(args[0])
    msg = bytes.fromhex(args[1])
    if len(msg) < SIU_HEAD.size + MAC_LEN:
        fail("malformed: short")
    (typ, flags, length, ident, home, old, new, port, lifetime, spi,
     rlen) = SIU_HEAD.unpack_from(msg)
    if typ != 1 or length != len(msg) or SIU_HEAD.size + rlen + MAC_LEN != len(msg):
        fail("malformed: framing")
    verify(key, msg)
    reply = msg[SIU_HEAD.size:SIU_HEAD.size + rlen]
    print(f"flags={flags}")
    print(f"id={ident:#018x}")
    print(f"home={ipaddress.IPv4Address(home)}")
    print(f"old={ipaddress.IPv4Address(old)}")
    print(f"new={ipaddress.IPv4Address(new)}")
    print(f"port={port}")
    print(f"lifetime={lifetime}")
    print(f"spi={spi}")
    print(f"reply={reply.hex()}")


def check_ack(args):
    key = bytes.fromhex(args[0])
    msg = bytes.fromhex(args[1])
    if len(msg) != ACK_BODY.size + MAC_LEN:
        fail("malformed: length")
    typ, _res, length, ident, home, status, _res2, spi = ACK_BODY.unpack_from(msg)
    if typ != 2 or length != len(msg):
        fail("malformed: framing")
    verify(key, msg)
    print(f"id={ident:#018x}")
    print(f"home={ipaddress.IPv4Address(home)}")
    print(f"status={status}")
    print(f"spi={spi}")


def main():
    commands = {"build-siu": (build_siu, 9), "parse-siu": (parse_siu, 2),
                "check-ack": (check_ack, 2)}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        fail(__doc__)
    func, nargs = commands[sys.argv[1]]
    if len(sys.argv) - 2 < nargs:
        fail(__doc__)
    func(sys.argv[2:])


if __name__ == "__main__":
    main()
