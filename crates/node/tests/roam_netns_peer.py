"""Peers of the network-namespace roaming test (roam_netns.rs), each run
with `ip netns exec <ns> python3 roam_netns_peer.py <mode> ...`.

Times are CLOCK_REALTIME nanoseconds (time.time_ns()), the clock the test
reads with SystemTime::now(): one clock for every namespace.

  send DST PORT INTERVAL_US   one datagram per interval: seq (u64) and send
                              time (u64), big-endian, 64 octets in all;
                              records the echoes that come back with their IP
                              TTL; runs until stdin closes, then prints one
                              JSON line {"sent": n, "send_ns": [...],
                              "echoes": [[seq, ttl], ...]}
  recv ADDR PORT IFACE        prints "seq send_ns recv_ns" per datagram, recv_ns
                              the kernel's receive timestamp (SO_TIMESTAMPNS);
                              echoes every ECHO_EVERY-th datagram's seq to its
                              sender from the same socket; prints "addr new NS"
                              or "addr del NS" when the kernel reports an IPv4
                              address added to or removed from IFACE (rtnetlink,
                              the instant of the address change);
                              reads commands from stdin: "garp IP" sends a
                              gratuitous ARP for IP out of IFACE (what the
                              node's system does when it takes an address on
                              a link, RFC 5944 section 4.6), "quit" ends
  sniff PORT                  prints the hex of every UDP payload to PORT of
                              type 1 (Registration Request) delivered in this
                              namespace, one per line (raw socket)
  replay SRC DST PORT HEX     sends HEX from SRC to DST:PORT and prints the
                              hex of the answer (or "timeout")
  ping DST COUNT              ICMP echo to DST COUNT times, 10 ms apart (raw
                              socket); prints the round-trip times in
                              microseconds as a JSON list
"""

import json
import socket
import struct
import sys
import threading
import time

# <asm-generic/socket.h>; the socket module does not export it.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
# <linux/in.h>
IP_TTL = 2
IP_RECVTTL = 12
ECHO_EVERY = 50
# <linux/rtnetlink.h>
RTMGRP_IPV4_IFADDR = 0x10
RTM_NEWADDR = 20
RTM_DELADDR = 21


def send(dst, port, interval_us):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, IP_RECVTTL, 1)
    s.bind(("0.0.0.0", 0))
    times = []
    echoes = []
    stop = threading.Event()

    def watch_echoes():
        while True:
            try:
                data, anc, _, _ = s.recvmsg(64, 64)
            except OSError:
                continue
            ttl = -1
            for level, kind, value in anc:
                if level == socket.IPPROTO_IP and kind == IP_TTL:
                    ttl = struct.unpack("@i", value[:4])[0]
            if len(data) >= 8:
                echoes.append([struct.unpack("!Q", data[:8])[0], ttl])

    threading.Thread(target=watch_echoes, daemon=True).start()

    def watch_stdin():
        sys.stdin.read()
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    interval = interval_us * 1000
    next_ns = time.time_ns()
    seq = 0
    pad = bytes(48)
    while not stop.is_set():
        now = time.time_ns()
        if now < next_ns:
            time.sleep((next_ns - now) / 1e9)
            now = time.time_ns()
        try:
            s.sendto(struct.pack("!QQ", seq, now) + pad, (dst, port))
        except OSError:
            pass  # e.g. no route for a moment: the datagram is lost
        times.append(now)
        seq += 1
        next_ns += interval
        if now - next_ns > 50 * interval:
            next_ns = now  # fell far behind (scheduler): no burst
    time.sleep(0.1)
    print(
        '{"sent": %d, "send_ns": [%s], "echoes": %s}'
        % (seq, ",".join(map(str, times)), json.dumps(list(echoes))),
        flush=True,
    )


def garp(iface, ip):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
    s.bind((iface, 0x0806))
    mac = s.getsockname()[4]
    addr = socket.inet_aton(ip)
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac + addr + bytes(6) + addr
    s.send(b"\xff" * 6 + mac + b"\x08\x06" + arp)
    s.close()


def recv(addr, port, iface):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    s.bind((addr, port))
    out = sys.stdout
    lock = threading.Lock()

    def commands():
        for line in sys.stdin:
            words = line.split()
            if words[:1] == ["garp"]:
                garp(iface, words[1])
                with lock:
                    out.write("garp %d\n" % time.time_ns())
                    out.flush()
            elif words[:1] == ["quit"]:
                break
        s.close()

    index = socket.if_nametoindex(iface)
    nl = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    nl.bind((0, RTMGRP_IPV4_IFADDR))

    def addresses():
        while True:
            msg = nl.recv(65535)
            now = time.time_ns()
            at = 0
            while at + 24 <= len(msg):
                length, kind = struct.unpack_from("=IH", msg, at)
                ifindex = struct.unpack_from("=I", msg, at + 20)[0]
                if kind in (RTM_NEWADDR, RTM_DELADDR) and ifindex == index:
                    word = "new" if kind == RTM_NEWADDR else "del"
                    with lock:
                        out.write("addr %s %d\n" % (word, now))
                        out.flush()
                if length < 16:
                    break
                at += (length + 3) & ~3

    threading.Thread(target=commands, daemon=True).start()
    threading.Thread(target=addresses, daemon=True).start()
    with lock:
        out.write("ready\n")
        out.flush()
    while True:
        try:
            data, anc, _, frm = s.recvmsg(2048, 64)
        except OSError:
            return
        now = time.time_ns()
        for level, kind, value in anc:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(value) >= 16:
                sec, nsec = struct.unpack("@qq", value[:16])
                now = sec * 1_000_000_000 + nsec
        if len(data) < 16:
            continue
        seq, sent = struct.unpack("!QQ", data[:16])
        if seq % ECHO_EVERY == 0:
            try:
                s.sendto(data[:8], frm)
            except OSError:
                pass
        with lock:
            out.write("%d %d %d\n" % (seq, sent, now))
            out.flush()


def sniff(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
    print("ready", flush=True)
    while True:
        pkt = s.recv(65535)
        ihl = (pkt[0] & 15) * 4
        udp = pkt[ihl:]
        if len(udp) > 8 and struct.unpack("!H", udp[2:4])[0] == port and udp[8] == 1:
            print(udp[8:].hex(), flush=True)


def replay(src, dst, port, hexdata):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0))
    s.settimeout(3)
    s.sendto(bytes.fromhex(hexdata), (dst, port))
    try:
        print(s.recv(65535).hex(), flush=True)
    except socket.timeout:
        print("timeout", flush=True)


def icmp_checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ping(dst, count):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.settimeout(1)
    ident = threading.get_native_id() & 0xFFFF
    rtts = []
    for seq in range(count):
        body = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + b"telsec-rtt"
        body = body[:2] + struct.pack("!H", icmp_checksum(body)) + body[4:]
        t = time.perf_counter_ns()
        s.sendto(body, (dst, 0))
        while True:
            try:
                packet = s.recv(2048)
            except socket.timeout:
                break
            ihl = (packet[0] & 0x0F) * 4
            kind, _, _, rid, rseq = struct.unpack("!BBHHH", packet[ihl:ihl + 8])
            if kind == 0 and rid == ident and rseq == seq:
                rtts.append((time.perf_counter_ns() - t) // 1000)
                break
        time.sleep(0.01)
    print(json.dumps(rtts), flush=True)


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "send":
        send(args[0], int(args[1]), int(args[2]))
    elif mode == "recv":
        recv(args[0], int(args[1]), args[2])
    elif mode == "sniff":
        sniff(int(args[0]))
    elif mode == "replay":
        replay(args[0], args[1], int(args[2]), args[3])
    elif mode == "ping":
        ping(args[0], int(args[1]))
    else:
        sys.exit("unknown mode " + mode)
