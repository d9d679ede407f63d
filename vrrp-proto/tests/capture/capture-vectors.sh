#!/usr/bin/env bash
# Re-captures the vrrp-proto test vectors from Debian's keepalived (2.2.7) on the wire.
#
# Usage (as root): vrrp-proto/tests/capture/capture-vectors.sh [OUTDIR]
#   OUTDIR defaults to vrrp-proto/tests/vectors next to this script.
#
# Builds two private network namespaces joined by a veth pair (nothing outside them is touched),
# runs keepalived in the first with one instance per wire variant (see keepalived.conf below),
# captures everything VRRP/AH/ARP/ICMPv6 in the second with tcpdump, stops keepalived with
# SIGTERM (so priority-0 adverts are captured too), then writes one hex file per variant with
# extract-vectors.py. Needs: ip (iproute2), keepalived, tcpdump, python3.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE/../vectors}
KEEPALIVED=${KEEPALIVED:-keepalived}
for tool in ip tcpdump python3 "$KEEPALIVED"; do
    command -v "$tool" >/dev/null || { echo "capture-vectors: needs $tool" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "capture-vectors: needs root (network namespaces)" >&2; exit 2; }

TAG="vpcap$$"
NS_A="$TAG-a"   # keepalived
NS_B="$TAG-b"   # observer
TMP=$(mktemp -d "/tmp/$TAG.XXXXXX")
KA_PID=""
TD_PID=""
cleanup() {
    [ -n "$KA_PID" ] && kill "$KA_PID" 2>/dev/null || true
    [ -n "$TD_PID" ] && kill "$TD_PID" 2>/dev/null || true
    wait 2>/dev/null || true
    ip netns del "$NS_A" 2>/dev/null || true
    ip netns del "$NS_B" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

ip netns add "$NS_A"
ip netns add "$NS_B"
for ns in "$NS_A" "$NS_B"; do
    # No DAD, so IPv6 addresses are usable at once (written directly: procps may be absent).
    ip netns exec "$ns" sh -c 'echo 0 >/proc/sys/net/ipv6/conf/all/accept_dad; echo 0 >/proc/sys/net/ipv6/conf/default/accept_dad'
    ip -n "$ns" link set lo up
done
ip -n "$NS_A" link add a0 address 02:00:5e:99:00:01 type veth peer name b0 netns "$NS_B" address 02:00:5e:99:00:02
ip -n "$NS_A" addr add 10.99.0.1/24 dev a0
ip -n "$NS_A" addr add fd99::1/64 dev a0 nodad
ip -n "$NS_B" addr add 10.99.0.2/24 dev b0
ip -n "$NS_B" addr add fd99::2/64 dev b0 nodad
ip -n "$NS_A" link set a0 up
ip -n "$NS_B" link set b0 up

cat >"$TMP/keepalived.conf" <<CONF
# vrrp-proto capture configuration: one instance per wire variant.
global_defs {
    router_id vpcap
    vrrp_version 2
    vrrp_garp_master_delay 1
    vrrp_garp_master_repeat 1
}
vrrp_instance V2_NONE {
    state MASTER
    interface a0
    virtual_router_id 10
    priority 100
    advert_int 1
    virtual_ipaddress {
        10.99.0.10/24
    }
}
vrrp_instance V2_PASS {
    state MASTER
    interface a0
    virtual_router_id 11
    priority 100
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass pass1234
    }
    virtual_ipaddress {
        10.99.0.11/24
    }
}
vrrp_instance V2_AH {
    state MASTER
    interface a0
    virtual_router_id 12
    priority 100
    advert_int 1
    authentication {
        auth_type AH
        auth_pass ahsecret
    }
    virtual_ipaddress {
        10.99.0.12/24
    }
}
vrrp_instance V2_20ADDR {
    state MASTER
    interface a0
    virtual_router_id 13
    priority 100
    advert_int 1
    virtual_ipaddress {
$(for i in $(seq 1 20); do echo "        10.99.1.$i/24"; done)
    }
}
vrrp_instance V3_V4 {
    state MASTER
    interface a0
    version 3
    virtual_router_id 20
    priority 100
    advert_int 0.5
    virtual_ipaddress {
        10.99.0.20/24
        10.99.0.21/24
    }
}
vrrp_instance V3_V4_UNICAST {
    state MASTER
    interface a0
    version 3
    virtual_router_id 21
    priority 100
    advert_int 0.5
    unicast_src_ip 10.99.0.1
    unicast_peer {
        10.99.0.2
    }
    virtual_ipaddress {
        10.99.0.22/24
    }
}
vrrp_instance V3_V4_UNICAST_OLD {
    state MASTER
    interface a0
    version 3
    virtual_router_id 22
    priority 100
    advert_int 0.5
    unicast_src_ip 10.99.0.1
    unicast_peer {
        10.99.0.2
    }
    old_unicast_checksum
    virtual_ipaddress {
        10.99.0.23/24
    }
}
vrrp_instance V3_V6 {
    state MASTER
    interface a0
    version 3
    virtual_router_id 30
    priority 100
    advert_int 0.5
    virtual_ipaddress {
        fd99::30/64
        fd99::31/64
    }
}
CONF

ip netns exec "$NS_B" tcpdump -i b0 -U -n -s 2048 -w "$TMP/capture.pcap" \
    'proto 112 or proto 51 or arp or ip6 proto 112 or icmp6' 2>"$TMP/tcpdump.err" &
TD_PID=$!
for _ in $(seq 100); do grep -q listening "$TMP/tcpdump.err" 2>/dev/null && break; sleep 0.05; done

ip netns exec "$NS_A" "$KEEPALIVED" -n -l -D -f "$TMP/keepalived.conf" \
    -p "$TMP/ka.pid" -r "$TMP/ka-vrrp.pid" -c "$TMP/ka-chk.pid" >"$TMP/keepalived.log" 2>&1 &
KA_PID=$!

# Wait (at most 20 s) until every instance is master and has sent a few adverts, its GARPs and NAs.
python3 "$HERE/extract-vectors.py" --wait "$TMP/capture.pcap" 20

kill -TERM "$KA_PID"
wait "$KA_PID" 2>/dev/null || true
KA_PID=""
# The priority-0 adverts keepalived sends on its way out must reach the capture.
python3 "$HERE/extract-vectors.py" --wait "$TMP/capture.pcap" 5 v2-none-prio0 v2-ah-prio0
kill "$TD_PID"; wait "$TD_PID" 2>/dev/null || true
TD_PID=""

mkdir -p "$OUT"
python3 "$HERE/extract-vectors.py" "$TMP/capture.pcap" "$OUT" "$("$KEEPALIVED" -v 2>&1 | head -1)"
cp "$TMP/capture.pcap" "$OUT/keepalived-capture.pcap"
echo "capture-vectors: wrote $(ls "$OUT" | wc -l) files to $OUT"
