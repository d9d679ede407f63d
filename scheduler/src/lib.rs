//! scheduler: the event loop of keepalived-rs (WIP doc).

mod child;
mod error;
mod event_loop;
mod signal;
#[allow(unsafe_code)]
mod sys;
mod time;

pub use child::{ChildExit, ChildSpec, DEFAULT_KILL_GRACE, StdioMode};
pub use error::Error;
pub use event_loop::{Ctx, Event, Handler, Loop, Stats, Stop, TaskId, block_signals};
pub use signal::{Signal, SignalInfo};
pub use time::{next_periodic, thread_cpu_time};
