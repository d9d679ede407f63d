#![cfg_attr(test, allow(clippy::unwrap_used, clippy::panic))]
//! ipvs (work in progress).
mod client;
mod error;
pub mod nl;
mod plan;
mod types;

pub use client::{Change, ChangeError, Ipvs};
pub use error::{Error, ErrorKind, KernelError, Result};
pub use nl::{Scheduler, Stats};
pub use plan::{ApplyReport, VirtualService, plan};
pub use types::*;
