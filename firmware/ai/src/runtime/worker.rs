//! One inference worker thread per loaded model: jobs arrive over a channel,
//! the caller waits at most its limit, and a worker still busy with an
//! earlier job turns new calls away at once instead of queueing them. This
//! module owns the thread and the busy flag; it must not interpret outputs.

use crate::inference::{Inference, InferenceError};
use std::sync::atomic::{AtomicBool, Ordering};
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
    /// An earlier call is still running (it timed out for its caller).
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
    busy: Arc<AtomicBool>,
}

impl Worker {
    /// Moves `model` onto a new thread named `name`.
    pub fn spawn(mut model: Box<dyn Inference>, name: &str) -> std::io::Result<Worker> {
        let (jobs, rx) = mpsc::channel::<Job>();
        let busy = Arc::new(AtomicBool::new(false));
        let flag = busy.clone();
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
                    flag.store(false, Ordering::SeqCst);
                    // The caller may have given up (timeout): nobody to tell.
                    let _ = job.reply.send(result.map(|out| (out, elapsed)));
                }
                log::debug!("inference worker exits");
            })?;
        Ok(Worker { jobs, busy })
    }

    /// Runs `input`, waiting at most `limit`; returns the output and the inference time.
    pub fn call(
        &self,
        input: Vec<f32>,
        limit: Duration,
    ) -> Result<(Vec<f32>, Duration), CallError> {
        if self
            .busy
            .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            return Err(CallError::Busy);
        }
        let (reply, answer) = mpsc::channel();
        if self.jobs.send(Job { input, reply }).is_err() {
            self.busy.store(false, Ordering::SeqCst);
            return Err(CallError::Gone);
        }
        match answer.recv_timeout(limit) {
            Ok(Ok(done)) => Ok(done),
            Ok(Err(e)) => Err(CallError::Failed(e)),
            Err(RecvTimeoutError::Timeout) => Err(CallError::Timeout(limit)),
            Err(RecvTimeoutError::Disconnected) => Err(CallError::Gone),
        }
    }
}
