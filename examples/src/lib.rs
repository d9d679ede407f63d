//! Examples that embed the keepalived-rs crates; see the `examples/` programs.
