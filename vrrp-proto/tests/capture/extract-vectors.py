#!/usr/bin/env python3
"""Sorts a tcpdump capture of keepalived into vrrp-proto's hex test vectors.

  extract-vectors.py --wait PCAP SECONDS [VARIANT...]
                                          wait until PCAP holds every variant, or the named
                                          ones (or time out)
  extract-vectors.py PCAP OUTDIR VERSION   write OUTDIR/<variant>.hex

Each .hex file: '#' comment lines, then one Ethernet frame per line as lowercase hex.
"""
import datetime
import struct
import sys
import time

# (file name, description, selector) - selectors see one decoded frame dict.
VARIANTS = [
    ("v2-none", "VRRPv2, no authentication, VRID 10, 1 address, advert_int 1",
     lambda f: f["kind"] == "vrrp4" and f["vrid"] == 10 and f["prio"] == 100),
    ("v2-none-prio0", "VRRPv2, VRID 10, priority 0 advert sent on SIGTERM",
     lambda f: f["kind"] == "vrrp4" and f["vrid"] == 10 and f["prio"] == 0),
    ("v2-pass", "VRRPv2, auth_type PASS, auth_pass pass1234, VRID 11",
     lambda f: f["kind"] == "vrrp4" and f["vrid"] == 11 and f["prio"] == 100),
    ("v2-ah", "VRRPv2, auth_type AH, auth_pass ahsecret, VRID 12 (IPv4 protocol 51)",
     lambda f: f["kind"] == "ah4" and f["vrid"] == 12 and f["prio"] == 100),
    ("v2-ah-prio0", "VRRPv2, auth_type AH, auth_pass ahsecret, VRID 12, priority 0 on SIGTERM",
     lambda f: f["kind"] == "ah4" and f["vrid"] == 12 and f["prio"] == 0),
    ("v2-20addr", "VRRPv2, no authentication, VRID 13, 20 addresses 10.99.1.1-20",
     lambda f: f["kind"] == "vrrp4" and f["vrid"] == 13 and f["prio"] == 100),
    ("v3-ipv4", "VRRPv3 over IPv4, VRID 20, 2 addresses, advert_int 0.5, pseudo-header checksum",
     lambda f: f["kind"] == "vrrp4" and f["vrid"] == 20 and f["prio"] == 100),
    ("v3-ipv4-unicast", "VRRPv3 over IPv4, unicast 10.99.0.1 -> 10.99.0.2, VRID 21, pseudo-header checksum",
     lambda f: f["kind"] == "vrrp4" and f["vrid"] == 21 and f["prio"] == 100),
    ("v3-ipv4-unicast-old", "VRRPv3 over IPv4, unicast, VRID 22, old_unicast_checksum (pseudo-header with 224.0.0.18 as destination)",
     lambda f: f["kind"] == "vrrp4" and f["vrid"] == 22 and f["prio"] == 100),
    ("v3-ipv6", "VRRPv3 over IPv6, VRID 30, 2 addresses fd99::30-31, advert_int 0.5",
     lambda f: f["kind"] == "vrrp6" and f["vrid"] == 30 and f["prio"] == 100),
    ("garp", "gratuitous ARP for 10.99.0.10 (VRID 10 becoming master)",
     lambda f: f["kind"] == "arp" and f["spa"] == "10.99.0.10"),
    ("na", "unsolicited neighbour advertisement for fd99::30 (VRID 30 becoming master)",
     lambda f: f["kind"] == "na" and f["target"] == "fd99::30"),
]
PER_FILE = 3


def read_pcap(path):
    try:
        data = open(path, "rb").read()
    except FileNotFoundError:
        return []
    if len(data) < 24:
        return []
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    if linktype != 1:
        raise SystemExit(f"unexpected link type {linktype}")
    frames, off = [], 24
    while off + 16 <= len(data):
        _, _, caplen, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        off += 16
        if off + caplen > len(data):
            break
        frames.append(data[off:off + caplen])
        off += caplen
    return frames


def ip6(b):
    return str(__import__("ipaddress").IPv6Address(bytes(b)))


def decode(frame):
    f = {"kind": "other", "frame": frame}
    if len(frame) < 14:
        return f
    et = struct.unpack(">H", frame[12:14])[0]
    p = frame[14:]
    if et == 0x0800 and len(p) >= 20:
        ihl = (p[0] & 15) * 4
        proto = p[9]
        body = p[ihl:]
        if proto == 112 and len(body) >= 8:
            f.update(kind="vrrp4", vrid=body[1], prio=body[2])
        elif proto == 51 and len(body) >= 32:
            f.update(kind="ah4", vrid=body[25], prio=body[26])
    elif et == 0x86DD and len(p) >= 40:
        nh, body = p[6], p[40:]
        if nh == 112 and len(body) >= 8:
            f.update(kind="vrrp6", vrid=body[1], prio=body[2])
        elif nh == 58 and len(body) >= 24 and body[0] == 136:
            f.update(kind="na", target=ip6(body[8:24]))
    elif et == 0x0806 and len(p) >= 28:
        f.update(kind="arp", spa=".".join(str(x) for x in p[14:18]),
                 tpa=".".join(str(x) for x in p[24:28]))
    return f


def select(frames):
    decoded = [decode(fr) for fr in frames]
    return {name: [d["frame"] for d in decoded if sel(d)][:PER_FILE] for name, _, sel in VARIANTS}


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(">%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def without_pseudo_header(frame):
    """The same VRRPv3/IPv4 frame with the checksum computed over the VRRP message alone."""
    b = bytearray(frame)
    ihl = (b[14] & 15) * 4
    v = 14 + ihl
    b[v + 6:v + 8] = b"\0\0"
    b[v + 6:v + 8] = struct.pack(">H", csum(bytes(b[v:])))
    return bytes(b)


def write(out, name, desc, source, frames, note=None):
    with open(f"{out}/{name}.hex", "w") as fh:
        fh.write(f"# {name}: {desc}\n")
        fh.write(f"# source: {source}\n")
        if note:
            fh.write(f"# note: {note}\n")
        fh.write("# format: one Ethernet II frame per line, hex\n")
        for fr in frames:
            fh.write(fr.hex() + "\n")


def main():
    if sys.argv[1] == "--wait":
        path, deadline = sys.argv[2], time.time() + float(sys.argv[3])
        named = sys.argv[4:]
        while time.time() < deadline:
            got = select(read_pcap(path))
            if named:
                missing = [n for n in named if not got[n]]
            else:
                # Adverts repeat; GARP and NA come in bursts of garp_master_repeat, so one will
                # do. The priority-0 adverts only come at shutdown.
                need = {"garp": 1, "na": 1}
                missing = [n for n, fr in got.items()
                           if len(fr) < need.get(n, PER_FILE) and "prio0" not in n]
            if not missing:
                return
            time.sleep(0.2)
        print(f"extract-vectors: timed out waiting for {missing}", file=sys.stderr)
        sys.exit(1)
    path, out, version = sys.argv[1:4]
    got = select(read_pcap(path))
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    source = f"{version.strip()} on the wire, {when}, tests/capture/capture-vectors.sh"
    for name, desc, _ in VARIANTS:
        if not got[name]:
            print(f"extract-vectors: no frame for {name}", file=sys.stderr)
            sys.exit(1)
        write(out, name, desc, source, got[name])
    write(out, "v3-ipv4-nopseudo",
          "VRRPv3 over IPv4 as v3-ipv4, checksum without pseudo-header (RFC 9568 / v3_checksum_as_v2)",
          source, [without_pseudo_header(fr) for fr in got["v3-ipv4"]],
          note="DERIVED: keepalived 2.2.7 has no v3_checksum_as_v2; the captured v3-ipv4 frames with "
               "only the VRRP checksum recomputed over the VRRP message alone by extract-vectors.py")


if __name__ == "__main__":
    main()
