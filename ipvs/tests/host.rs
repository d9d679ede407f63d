//! What the crate says on a machine without IPVS (the development and CI hosts: no
//! `ip_vs`, no loadable modules).
#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::Path;

use ipvs::{Error, ErrorKind, Ipvs};

#[test]
fn missing_ipvs_is_reported_as_such() {
    // Only where IPVS can neither be present nor be autoloaded by our lookup: elsewhere the
    // lookup could load ip_vs into the host's kernel, which a test must not do.
    if Path::new("/proc/net/ip_vs").exists() || Path::new("/proc/modules").exists() {
        println!("skipped: this kernel has IPVS or can load it; covered in the VM instead");
        return;
    }
    let err = Ipvs::new().unwrap_err();
    assert!(matches!(err, Error::FamilyMissing), "{err}");
    assert_eq!(err.kind(), ErrorKind::FamilyMissing);
    assert!(err.to_string().contains("load the ip_vs module"), "{err}");
}
