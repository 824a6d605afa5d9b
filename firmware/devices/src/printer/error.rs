//! Errors of the printer handle (not of printing: a job that cannot print
//! yet simply stays pending, and the view says why).

use crate::spool::SpoolError;
use std::io;
use thiserror::Error;

/// Errors from [`super::Printer::start`] and the handle's requests.
#[derive(Debug, Error)]
pub enum PrinterError {
    /// The spool could not be opened.
    #[error(transparent)]
    Spool(#[from] SpoolError),
    /// The worker thread could not be started.
    #[error("cannot start the printer worker: {0}")]
    Thread(#[source] io::Error),
    /// The worker has stopped (after `shutdown`).
    #[error("the printer worker for {0} has stopped")]
    Stopped(String),
    /// The worker did not answer in time (busy sending a long job).
    #[error("the printer worker for {0} did not answer in time")]
    Busy(String),
}
