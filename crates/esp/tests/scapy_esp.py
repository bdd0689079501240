#!/usr/bin/env python3
"""Peer for telsec-esp's interop test: scapy's IPsec ESP (AES-GCM, tunnel
mode, NAT-T UDP encapsulation) decrypts what telsec sealed and encrypts what
telsec must open.

Reads one JSON object on stdin:
  {"jobs": [job, ...]}
where each job is
  {"op": "decrypt" | "encrypt",
   "key": hex(key || salt), "spi": int, "esn": bool,
   "tunnel_src": str, "tunnel_dst": str, "sport": int, "dport": int,
   "items": [{"seq": int (64-bit), "data": hex}, ...]}
"decrypt" items are whole outer IPv4/UDP/ESP datagrams; the result per item
is {"ok": true, "inner": hex} or {"ok": false, "error": str}.
"encrypt" items are inner IP packets; the result is {"ok": true,
"datagram": hex} (outer IPv4/UDP/ESP, the ESP sequence number's low half
from "seq" and its high half in the AAD when "esn" is set).
Writes {"results": [[item result, ...] per job]} on stdout.
"""

import json
import sys

from scapy.compat import raw
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.ipsec import ESP, SecurityAssociation


def make_sa(job):
    return SecurityAssociation(
        ESP,
        spi=job["spi"],
        crypt_algo="AES-GCM",
        crypt_key=bytes.fromhex(job["key"]),
        tunnel_header=IP(src=job["tunnel_src"], dst=job["tunnel_dst"]),
        nat_t_header=UDP(sport=job["sport"], dport=job["dport"]),
        esn_en=job["esn"],
        esn=0,
    )


def decrypt(job):
    sa = make_sa(job)
    out = []
    for item in job["items"]:
        pkt = IP(bytes.fromhex(item["data"]))
        if not pkt.haslayer(ESP):
            out.append({"ok": False, "error": "scapy found no ESP layer: " + pkt.summary()})
            continue
        # The high half of an extended sequence number is not on the wire;
        # the receiver supplies it (RFC 4303 Appendix A).
        sa.esn = item["seq"] >> 32
        try:
            inner = sa.decrypt(pkt)
            out.append({"ok": True, "inner": raw(inner).hex()})
        except Exception as e:  # IPSecIntegrityError and friends
            out.append({"ok": False, "error": "%s: %s" % (type(e).__name__, e)})
    return out


def encrypt(job):
    sa = make_sa(job)
    out = []
    for item in job["items"]:
        data = bytes.fromhex(item["data"])
        inner = IP(data) if data[0] >> 4 == 4 else IPv6(data)
        # Set the state rather than pass seq_num/esn arguments: scapy treats
        # an argument of 0 as "absent", and 0 is a valid low half at 2^32.
        sa.seq_num = item["seq"] & 0xFFFFFFFF
        sa.esn = item["seq"] >> 32
        pkt = sa.encrypt(inner)
        out.append({"ok": True, "datagram": raw(pkt).hex()})
    return out


def main():
    request = json.load(sys.stdin)
    results = []
    for job in request["jobs"]:
        if job["op"] == "decrypt":
            results.append(decrypt(job))
        elif job["op"] == "encrypt":
            results.append(encrypt(job))
        else:
            raise SystemExit("unknown op " + repr(job["op"]))
    json.dump({"results": results}, sys.stdout)


if __name__ == "__main__":
    main()
