//! One inference worker thread per loaded model: jobs arrive over a channel,
//! the caller waits at most its limit, and while a job whose caller timed out
//! is still running, new calls are turned away at once ("model busy") instead
//! of queueing behind it. Concurrent callers within their limits simply queue.
//! This module owns the thread and those counters; it must not interpret outputs.

use crate::inference::{Inference, InferenceError};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A job: the input and where to send (output, latency).
struct Job {
    input: Vec<f32>,
    reply: Sender<Result<(Vec<f32>, Duration), InferenceError>>,
}

/// Why a call to the worker gave no output.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallError {
    /// A call that timed out is still running.
    #[error("model busy (an earlier inference is still running)")]
    Busy,
    /// No answer within the limit.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The model failed.
    #[error("{0}")]
    Failed(InferenceError),
    /// The worker thread is gone.
    #[error("inference worker stopped")]
    Gone,
}

/// Handle to a worker thread; the thread ends when the last handle is dropped.
#[derive(Clone)]
pub struct Worker {
    jobs: Sender<Job>,
    /// Jobs sent and not finished.
    pending: Arc<AtomicUsize>,
    /// A caller gave up on a job (cleared once nothing is pending).
    timed_out: Arc<AtomicBool>,
}

impl Worker {
    /// Moves `model` onto a new thread named `name`.
    pub fn spawn(mut model: Box<dyn Inference>, name: &str) -> std::io::Result<Worker> {
        let (jobs, rx) = mpsc::channel::<Job>();
        let pending = Arc::new(AtomicUsize::new(0));
        let left = pending.clone();
        std::thread::Builder::new()
            .name(format!("ai-{name}"))
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    let started = Instant::now();
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        model.run(&job.input)
                    }))
                    .unwrap_or_else(|_| Err(InferenceError::Run("inference panicked".into())));
                    let elapsed = started.elapsed();
                    left.fetch_sub(1, Ordering::SeqCst);
                    // The caller may have given up (timeout): nobody to tell.
                    let _ = job.reply.send(result.map(|out| (out, elapsed)));
                }
                log::debug!("inference worker exits");
            })?;
        Ok(Worker {
            jobs,
            pending,
            timed_out: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Runs `input`, waiting at most `limit`; returns the output and the inference time.
    pub fn call(
        &self,
        input: Vec<f32>,
        limit: Duration,
    ) -> Result<(Vec<f32>, Duration), CallError> {
        if self.timed_out.load(Ordering::SeqCst) {
            if self.pending.load(Ordering::SeqCst) > 0 {
                return Err(CallError::Busy);
            }
            self.timed_out.store(false, Ordering::SeqCst);
        }
        let (reply, answer) = mpsc::channel();
        self.pending.fetch_add(1, Ordering::SeqCst);
        if self.jobs.send(Job { input, reply }).is_err() {
            self.pending.fetch_sub(1, Ordering::SeqCst);
            return Err(CallError::Gone);
        }
        match answer.recv_timeout(limit) {
            Ok(Ok(done)) => Ok(done),
            Ok(Err(e)) => Err(CallError::Failed(e)),
            Err(RecvTimeoutError::Timeout) => {
                self.timed_out.store(true, Ordering::SeqCst);
                Err(CallError::Timeout(limit))
            }
            Err(RecvTimeoutError::Disconnected) => Err(CallError::Gone),
        }
    }
}
