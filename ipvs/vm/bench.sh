#!/bin/bash
# ipvs/vm/bench.sh [SIZES]   (default SIZES="1000x10 10000x10")
#
# Builds examples/ipvs-bench.rs (release) and, in ONE boot of the IPVS VM, for every size
# SxD: ipvsadm (-R restore, -Ln, -C) and then this crate (batched restore, list, plan/apply,
# flush), each in a fresh network namespace with `lo` up. Prints RESULT lines; compare
# tools only within one run (the VM is emulated).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
sizes=${1:-"1000x10 10000x10"}
cargo build -q --release -p ipvs --example ipvs-bench
bin=${CARGO_TARGET_DIR:-target}/release/examples/ipvs-bench
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/in-vm.sh" <<INVM
#!/bin/sh
echo "== \$(uname -r), \$(nproc) vCPU, \$(head -1 /proc/net/ip_vs)"
rc=0
if [ -x /usr/bin/strace ]; then
    # Syscalls per rule for a 100 x 10 restore (1,100 rules), whole process.
    /usr/bin/ipvs-bench rules 100 10 > /tmp/rules
    for tool in ipvsadm ours; do
        if [ \$tool = ipvsadm ]; then cmd="ipvsadm -R < /tmp/rules"; else cmd="/usr/bin/ipvs-bench restore 100 10"; fi
        unshare -n sh -c 'ip link set lo up && exec /usr/bin/strace -f -c -o /tmp/strace sh -c "\$0"' "\$cmd" >/dev/null 2>&1 || rc=1
        echo "STRACE tool=\$tool rules=1100 syscalls=\$(awk '\$NF=="total"{print \$4}' /tmp/strace) (including sh and exec startup)"
        sleep 2
    done
fi
for sz in $sizes; do
    s=\${sz%x*}; d=\${sz#*x}
    for tool in ipvsadm ours; do
        unshare -n sh -c 'ip link set lo up && exec "\$@"' - /usr/bin/ipvs-bench \$tool \$s \$d || rc=1
        # the namespace's teardown frees its table in a kernel worker: let it finish
        sleep 10
    done
done
exit \$rc
INVM
chmod +x "$work/in-vm.sh"
strace=$(command -v strace || true)
IPVS_VM_BINS="$bin $strace" IPVS_VM_TIMEOUT=${IPVS_VM_TIMEOUT:-1800} nice "$here/run.sh" "$work/in-vm.sh"
