//! confparse (work in progress).
