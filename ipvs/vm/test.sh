#!/bin/bash
# ipvs/vm/test.sh [--capture] [-- EXTRA-CARGO-ARGS]
#
# Builds the ipvs crate's test binaries and runs every test inside one boot of the IPVS VM
# (ipvs/vm/run.sh), each test in a fresh network namespace with `lo` up, so tests cannot
# see each other's tables. Exit code 0 only if every test passed.
#   --capture   also print the kernel replies of the capture test (for tests/data/)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
capture=0
[ "${1:-}" = --capture ] && { capture=1; shift; }
[ "${1:-}" = -- ] && shift

echo "ipvs-vm-test: building test binaries" >&2
mapfile -t exes < <(cargo test -p ipvs --no-run --message-format=json "$@" 2>/dev/null |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p')
[ ${#exes[@]} -gt 0 ] || { cargo test -p ipvs --no-run "$@"; echo "ipvs-vm-test: no test binaries" >&2; exit 125; }
# The example lister is compared with ipvsadm by the lister_matches_ipvsadm test.
cargo build -q -p keepalived-rs-examples --bin ipvs-list "$@"
lister=${CARGO_TARGET_DIR:-target}/debug/ipvs-list

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
names=""
for e in "${exes[@]}"; do names="$names $(basename "$e")"; done
cat > "$work/in-vm.sh" <<INVM
#!/bin/sh
# Runs inside the VM: every test of every binary in its own network namespace.
export IPVS_VM=1 KARS_PRIVILEGED_TESTS=require RUST_BACKTRACE=1
pass=0; fail=0; failed=""
for b in $names; do
    for t in \$(/usr/bin/\$b --list --format terse 2>/dev/null | sed -n 's/: test\$//p'); do
        extra=""
        [ "$capture" = 1 ] && [ "\$t" = capture_kernel_replies ] && extra=--nocapture
        if unshare -n sh -c 'ip link set lo up && exec "\$@"' - /usr/bin/\$b --exact "\$t" --test-threads=1 -q \$extra >/tmp/out 2>&1; then
            pass=\$((pass + 1)); echo "ok   \$b \$t"
            [ -n "\$extra" ] && grep '^CAPTURE' /tmp/out
        else
            fail=\$((fail + 1)); failed="\$failed \$b::\$t"; echo "FAIL \$b \$t"; cat /tmp/out
        fi
    done
done
echo "ipvs-vm-test: \$pass passed, \$fail failed\$failed"
[ \$fail = 0 ]
INVM
chmod +x "$work/in-vm.sh"
IPVS_VM_BINS="${exes[*]} $lister" nice "$here/run.sh" "$work/in-vm.sh"
