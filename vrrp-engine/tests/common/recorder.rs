//! [`Recorder`]: driver hooks that keep what the driver reports, shared by the namespace tests.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use vrrp_engine::linux::Hooks;
use vrrp_engine::{EngineConfig, LogRecord, Notification, NotifyEvent, State};

/// Records what the driver reports, for assertions and for diagnosis on failure.
#[derive(Clone, Default)]
pub struct Recorder {
    /// State notifications, in order.
    pub states: Arc<Mutex<Vec<State>>>,
    /// Log records and warnings, in order.
    pub lines: Arc<Mutex<Vec<String>>>,
    /// What the next reload returns.
    pub next_config: Arc<Mutex<Option<EngineConfig>>>,
}

impl Recorder {
    /// Every state notified so far.
    pub fn states(&self) -> Vec<State> {
        self.states.lock().unwrap().clone()
    }
    /// The last state notified.
    pub fn state(&self) -> Option<State> {
        self.states.lock().unwrap().last().copied()
    }
    /// The log lines and warnings so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }
    /// Prints the lines, prefixed with `who`.
    pub fn dump(&self, who: &str) {
        for l in self.lines.lock().unwrap().iter() {
            eprintln!("{who}: {l}");
        }
    }
}

impl Hooks for Recorder {
    fn notify(&mut self, n: &Notification) {
        if let NotifyEvent::State(s) = n.event {
            self.states.lock().unwrap().push(s);
        }
    }
    fn log(&mut self, r: &LogRecord) {
        self.lines.lock().unwrap().push(r.to_string());
    }
    fn warning(&mut self, m: &str) {
        self.lines.lock().unwrap().push(format!("warning: {m}"));
    }
    fn reload(&mut self) -> Option<EngineConfig> {
        self.next_config.lock().unwrap().take()
    }
}
