#!/bin/bash
# ipvs/vm/run.sh SCRIPT-OR-BINARY [ARGS...]
#
# Runs a program as root inside a throw-away qemu VM that has a real IPVS: Debian's cloud
# kernel (fetched with `apt-get download`, unpacked with `dpkg -x`, never installed) with the
# ip_vs modules loaded, busybox, and Debian's ipvsadm for cross-checks. Output is the
# program's stdout+stderr; the exit code is the program's (124: VM timed out, 125: harness
# failure). Needs: qemu-system-x86, busybox-static, cpio, ipvsadm, apt-get, dpkg.
#
# Environment:
#   IPVS_VM_CACHE    cache directory for the kernel and base initramfs
#                    (default: <repo>/target/ipvs-vm)
#   IPVS_VM_FILES    extra host files/directories copied to /work in the VM
#   IPVS_VM_BINS     extra host executables copied (with their shared libraries) to /usr/bin
#   IPVS_VM_TIMEOUT  seconds before the VM is killed (default 600)
#   IPVS_VM_MEM      MiB of RAM (default 1024)       IPVS_VM_CPUS (default 2)
#   IPVS_VM_KERNEL   kernel package (default: what linux-image-cloud-amd64 depends on)
#   IPVS_VM_VERBOSE  1 = show the kernel console on stderr
# Inside the VM: cwd /work, PATH has busybox applets, ipvsadm and IPVS_VM_BINS; `lo` is up
# (without it every destination add fails with EINVAL); modules are loaded.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${IPVS_VM_CACHE:-$repo/target/ipvs-vm}
timeout_s=${IPVS_VM_TIMEOUT:-600}
fail() { echo "ipvs-vm: $*" >&2; exit 125; }
[ $# -ge 1 ] || fail "usage: $0 PROGRAM [ARGS...]"
prog=$1; shift
[ -f "$prog" ] || fail "no such program: $prog"
for t in qemu-system-x86_64 cpio busybox dpkg apt-get; do
    command -v "$t" >/dev/null || fail "missing tool: $t"
done
[ -x /usr/sbin/ipvsadm ] || fail "missing /usr/sbin/ipvsadm (apt-get install ipvsadm)"
mkdir -p "$cache" || fail "cannot create $cache"
exec 8>"$cache/lock"; flock 8

# --- the kernel -------------------------------------------------------------------------
pkg=${IPVS_VM_KERNEL:-}
if [ -z "$pkg" ]; then
    pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[^ ]*\)$/\1/p' | head -1)
    if [ -z "$pkg" ]; then
        apt-get update -qq >/dev/null 2>&1 || true
        pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[^ ]*\)$/\1/p' | head -1)
    fi
fi
[ -n "$pkg" ] || fail "cannot find the kernel package (apt-cache depends linux-image-cloud-amd64)"
kdir=$cache/$pkg
if [ ! -d "$kdir/boot" ]; then
    dl=$(mktemp -d "$cache/dl.XXXX")
    (cd "$dl" && apt-get download "$pkg" >/dev/null 2>&1) || fail "apt-get download $pkg failed"
    dpkg -x "$dl"/*.deb "$dl/root" || fail "dpkg -x failed"
    mv "$dl/root" "$kdir" && rm -rf "$dl"
fi
kver=$(ls "$kdir/lib/modules" | head -1)
vmlinuz=$kdir/boot/vmlinuz-$kver
[ -f "$vmlinuz" ] || fail "no vmlinuz in $kdir"

# --- the base initramfs: busybox, ipvsadm, modules ---------------------------------------
add_exe() { # host-path root dest-path: the file plus the shared libraries it loads
    install -D -m 0755 "$1" "$2$3"
    ldd "$1" 2>/dev/null | grep -o '/[^ )]*' | while read -r lib; do
        [ -e "$lib" ] && [ ! -e "$2$lib" ] && install -D -m 0755 "$(readlink -f "$lib")" "$2$lib"
    done
    return 0
}
modules="ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_lblc ip_vs_lblcr ip_vs_dh ip_vs_sh
 ip_vs_sed ip_vs_nq ip_vs_fo ip_vs_ovf ip_vs_mh ip_vs_pe_sip dummy"
key=$( (cat "$0" /usr/sbin/ipvsadm /bin/busybox; echo "$pkg") | md5sum | cut -c1-10)
base=$cache/base-$key.cpio.gz
if [ ! -f "$base" ]; then
    rm -f "$cache"/base-*.cpio.gz
    root=$(mktemp -d "$cache/root.XXXX")
    mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,root,work,mods}
    cp /bin/busybox "$root/bin/busybox"
    add_exe /usr/sbin/ipvsadm "$root" /usr/sbin/ipvsadm
    declare -A path=() seen=()
    while read -r f; do b=$(basename "$f" .ko); path[${b//-/_}]=$f; done \
        < <(find "$kdir/lib/modules/$kver" -name '*.ko')
    order=()
    load() { # depth-first: dependencies before the module
        local m=${1//-/_}
        [ -n "${seen[$m]:-}" ] && return 0
        seen[$m]=1
        local f=${path[$m]:-}
        if [ -z "$f" ]; then
            grep -q "/$m.ko" "$kdir/lib/modules/$kver/modules.builtin" 2>/dev/null \
                || echo "ipvs-vm: note: no module $m" >&2
            return 0
        fi
        local d
        for d in $(grep -a -o 'depends=[A-Za-z0-9_,-]*' "$f" | head -1 | cut -d= -f2 | tr ',' ' '); do load "$d"; done
        order+=("$m"); cp "$f" "$root/mods/$m.ko"
    }
    for m in $modules; do load "$m"; done
    printf '%s\n' "${order[@]}" > "$root/mods/order"
    cat > "$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in $(cat /mods/order); do insmod /mods/$m.ko || echo "insmod $m failed" >/dev/console; done
ip link set lo up
out=/dev/ttyS1
if [ -x /work/main ]; then
    cd /work; /work/main >$out 2>&1; rc=$?
else
    ipvsadm -Ln >$out 2>&1; rc=$?
fi
echo "IPVS_VM_EXIT=$rc" >$out
sync; poweroff -f
INIT
    chmod +x "$root/init"
    (cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$base.tmp" || fail "cpio failed"
    mv "$base.tmp" "$base"; rm -rf "$root"
fi
flock -u 8

# --- this run's overlay: the program, its arguments, extra files -------------------------
run=$(mktemp -d "$cache/run.XXXX")
trap 'rm -rf "$run"' EXIT
ov=$run/overlay; mkdir -p "$ov/work"
add_exe "$prog" "$ov" /work/prog
for f in ${IPVS_VM_FILES:-}; do cp -a "$f" "$ov/work/" || fail "cannot copy $f"; done
for f in ${IPVS_VM_BINS:-}; do add_exe "$f" "$ov" "/usr/bin/$(basename "$f")"; done
{
    echo '#!/bin/sh'
    printf 'exec /work/prog'
    for a in "$@"; do printf " '%s'" "${a//\'/\'\\\'\'}"; done
    echo
} > "$ov/work/main"
chmod +x "$ov/work/main"
(cd "$ov" && find . | cpio -o -H newc --quiet | gzip -1) > "$run/overlay.cpio.gz"
cat "$base" "$run/overlay.cpio.gz" > "$run/initrd.gz"

# --- boot (TCG: works everywhere, including CI machines without /dev/kvm) ----------------
timeout "$timeout_s" qemu-system-x86_64 -machine q35,accel=tcg -cpu max \
    -m "${IPVS_VM_MEM:-1024}" -smp "${IPVS_VM_CPUS:-2}" \
    -kernel "$vmlinuz" -initrd "$run/initrd.gz" \
    -append "console=ttyS0 panic=-1 quiet loglevel=3 rdinit=/init" \
    -display none -monitor none -no-reboot -nodefaults \
    -serial "file:$run/console" -serial "file:$run/out" </dev/null >"$run/qemu.log" 2>&1
qrc=$?
[ "${IPVS_VM_VERBOSE:-0}" = 1 ] && cat "$run/console" "$run/qemu.log" >&2
tr -d '\r' < "$run/out" | grep -v '^IPVS_VM_EXIT=' || true
rc=$(tr -d '\r' < "$run/out" | sed -n 's/^IPVS_VM_EXIT=\([0-9]*\)$/\1/p' | tail -1)
if [ -z "$rc" ]; then
    [ $qrc = 124 ] && { echo "ipvs-vm: timed out after ${timeout_s}s" >&2; tail -n 20 "$run/console" >&2; exit 124; }
    echo "ipvs-vm: the VM stopped without a result (qemu exit $qrc)" >&2
    tail -n 30 "$run/console" "$run/qemu.log" >&2
    exit 125
fi
exit "$rc"
