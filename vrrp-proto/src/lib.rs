//! vrrp-proto (work in progress).
