//! Link flags of the `keepalived` binary.
//!
//! On GNU/Linux it is linked with `-z pack-relative-relocs` (RELR, binutils >= 2.38, glibc >=
//! 2.36 at run time, as in Debian 12): the relative relocations of a position-independent
//! executable are stored packed instead of as 24-byte `Elf64_Rela` entries, which every process
//! of the daemon otherwise holds as private memory (the parent and each child: about 90 KB
//! each). Only the binaries get it (not the dependencies, tests or fuzz targets), so changing it
//! rebuilds nothing else. `KARS_NO_RELR=1` leaves it out, for older toolchains.

fn main() {
    println!("cargo:rerun-if-env-changed=KARS_NO_RELR");
    let linux_gnu = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|v| v == "linux")
        && std::env::var("CARGO_CFG_TARGET_ENV").is_ok_and(|v| v == "gnu");
    if linux_gnu && std::env::var_os("KARS_NO_RELR").is_none_or(|v| v.is_empty() || v == "0") {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
