//! vrrp-engine (work in progress).
