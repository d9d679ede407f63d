//! The helper thread that forks and execs children, so that the loop never waits for it.
//!
//! `std::process::Command::spawn` returns only once the child has called `execve` (that is how
//! it reports a missing program as an error). Measured on the development machine that takes
//! 0.6 ms at the median and several milliseconds under load: a stall a 10 ms VRRP loop should
//! not take for every script it starts. The loop hands the command to this thread and learns the
//! outcome through its waker, like any other wake-up.

use std::io;
use std::os::fd::OwnedFd;
use std::process::{Child, Command};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::JoinHandle;

use crate::sys;

/// A child to start. `tag` identifies the request (unique per loop).
pub(crate) struct Job {
    pub(crate) tag: u64,
    pub(crate) command: Command,
    pub(crate) pidfd: bool,
}

/// How a [`Job`] went: the child and its pidfd (if asked for and available), or why not.
pub(crate) struct Done {
    pub(crate) tag: u64,
    pub(crate) result: io::Result<(Child, Option<OwnedFd>)>,
}

/// The thread, and the channels to it.
pub(crate) struct Spawner {
    jobs: Option<Sender<Job>>,
    done: Receiver<Done>,
    thread: Option<JoinHandle<()>>,
}

impl Spawner {
    /// Starts the thread, which blocks every signal and drops any real-time policy. `wake` is
    /// called after each finished job.
    pub(crate) fn start(wake: Arc<dyn Fn() + Send + Sync>) -> io::Result<Spawner> {
        let (jobs, job_rx) = mpsc::channel::<Job>();
        let (done_tx, done) = mpsc::channel::<Done>();
        let thread = std::thread::Builder::new()
            .name("scheduler-spawn".into())
            .spawn(move || {
                // Every signal stays with the loop's thread, including ones the loop starts to
                // watch after this thread exists (children get a clean mask before exec).
                let _ = sys::block_all_signals_in_thread();
                // Threads inherit the creator's scheduling policy. Starting scripts is not
                // urgent: never compete with a real-time loop for its CPU.
                let _ = sys::set_thread_scheduler(None);
                for mut job in job_rx {
                    let result = job.command.spawn().map(|child| {
                        let pidfd = if job.pidfd {
                            sys::pidfd_open(child.id()).ok()
                        } else {
                            None
                        };
                        (child, pidfd)
                    });
                    if let Err(mpsc::SendError(lost)) = done_tx.send(Done {
                        tag: job.tag,
                        result,
                    }) {
                        // The loop is gone and collects nothing more: no child may outlive it
                        // unreaped.
                        if let Ok((mut child, _)) = lost.result {
                            let _ = child.kill();
                            let _ = child.wait();
                        }
                        break;
                    }
                    wake();
                }
            })?;
        Ok(Spawner {
            jobs: Some(jobs),
            done,
            thread: Some(thread),
        })
    }

    /// Queues a job; `false` if the thread is gone.
    pub(crate) fn submit(&self, job: Job) -> bool {
        self.jobs.as_ref().is_some_and(|tx| tx.send(job).is_ok())
    }

    /// A finished job, if any.
    pub(crate) fn try_recv(&self) -> Option<Done> {
        self.done.try_recv().ok()
    }

    /// Stops the thread after the jobs already queued, and returns every result not yet
    /// collected, so that the caller can kill and reap those children.
    pub(crate) fn shutdown(&mut self) -> Vec<Done> {
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.done.try_iter().collect()
    }
}

impl Drop for Spawner {
    fn drop(&mut self) {
        for done in self.shutdown() {
            if let Ok((mut child, _)) = done.result {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}
