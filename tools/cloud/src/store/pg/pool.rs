//! A small pool of PostgreSQL connections, and the error conversions.
//!
//! Owns connecting (with a timeout), handing out idle connections, dropping
//! broken ones, and retrying an operation on a fresh connection when the old
//! one turned out dead or PostgreSQL asked for a retry (deadlock, serialization
//! failure). Must not know any table.

use crate::store::StoreError;
use postgres::error::SqlState;
use postgres::{Client, Config, NoTls};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// Most connections one node opens to the database (PostgreSQL's default
/// `max_connections` is 100; several nodes share it). Callers beyond this
/// wait for a connection to come back.
const MAX_OPEN: usize = 16;

/// How long a caller waits for a free connection.
const WAIT: Duration = Duration::from_secs(30);

/// Attempts of an operation that PostgreSQL asks to retry.
const ATTEMPTS: usize = 5;

/// Connections to one database.
pub(super) struct Pool {
    config: Config,
    slots: Mutex<Slots>,
    returned: Condvar,
}

/// Idle connections, and how many are open (idle or in use).
struct Slots {
    idle: Vec<Client>,
    open: usize,
}

/// Whether an operation may run again after an error.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Retry {
    /// Running it twice does no harm (ingest is idempotent, reads are reads).
    Safe,
    /// Only when PostgreSQL itself rolled it back (deadlock, serialization).
    RolledBack,
}

impl Pool {
    /// A pool for `url` (`postgres://user@host:port/db`); connects lazily.
    pub(super) fn new(url: &str) -> Result<Pool, StoreError> {
        let mut config: Config = url
            .parse()
            .map_err(|e| StoreError::Invalid(format!("database URL: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        if config.get_application_name().is_none() {
            config.application_name("keel-cloud");
        }
        Ok(Pool {
            config,
            slots: Mutex::new(Slots {
                idle: Vec::new(),
                open: 0,
            }),
            returned: Condvar::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Slots> {
        // The slots stay consistent even if a holder panicked (plain counters).
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An idle connection, a new one while fewer than [`MAX_OPEN`] are open,
    /// or the next one given back.
    fn take(&self) -> Result<Client, StoreError> {
        let mut slots = self.lock();
        loop {
            while let Some(c) = slots.idle.pop() {
                if !c.is_closed() {
                    return Ok(c);
                }
                slots.open -= 1;
            }
            if slots.open < MAX_OPEN {
                slots.open += 1;
                drop(slots);
                return self.config.connect(NoTls).map_err(|e| {
                    self.lock().open -= 1;
                    self.returned.notify_one();
                    db_err(e)
                });
            }
            let (s, timeout) = self
                .returned
                .wait_timeout(slots, WAIT)
                .unwrap_or_else(|e| e.into_inner());
            slots = s;
            if timeout.timed_out() && slots.idle.is_empty() && slots.open >= MAX_OPEN {
                return Err(StoreError::Database(format!(
                    "all {MAX_OPEN} database connections busy for {WAIT:?}"
                )));
            }
        }
    }

    /// Gives a connection back (a broken one is closed and its slot freed).
    fn give_back(&self, client: Client, broken: bool) {
        let mut slots = self.lock();
        if broken || client.is_closed() {
            slots.open -= 1;
        } else {
            slots.idle.push(client);
        }
        drop(slots);
        self.returned.notify_one();
    }

    /// Runs `op` on a pooled connection, retrying as `retry` allows.
    pub(super) fn run<T>(
        &self,
        retry: Retry,
        mut op: impl FnMut(&mut Client) -> Result<T, Failure>,
    ) -> Result<T, StoreError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut client = self.take()?;
            let result = op(&mut client);
            let broken = client.is_closed() || matches!(result, Err(Failure::Connection(_)));
            self.give_back(client, broken);
            match result {
                Ok(v) => return Ok(v),
                Err(Failure::Retry(reason)) if attempt < ATTEMPTS => {
                    log::info!("database asked to retry ({reason}), attempt {attempt}");
                }
                Err(Failure::Connection(reason)) if retry == Retry::Safe && attempt < 2 => {
                    log::warn!("database connection lost ({reason}); retrying on a new one");
                }
                Err(e) => return Err(e.into_store_error()),
            }
        }
    }
}

/// Why an operation failed, as far as retrying goes.
pub(super) enum Failure {
    /// PostgreSQL rolled the transaction back and asks for a retry.
    Retry(String),
    /// The connection failed; the transaction's fate may be unknown.
    Connection(String),
    /// Anything else.
    Other(StoreError),
}

impl Failure {
    fn into_store_error(self) -> StoreError {
        match self {
            Failure::Retry(r) | Failure::Connection(r) => StoreError::Database(r),
            Failure::Other(e) => e,
        }
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Failure {
        Failure::Other(e)
    }
}

impl From<postgres::Error> for Failure {
    fn from(e: postgres::Error) -> Failure {
        match e.code() {
            Some(c)
                if *c == SqlState::T_R_DEADLOCK_DETECTED
                    || *c == SqlState::T_R_SERIALIZATION_FAILURE =>
            {
                Failure::Retry(describe(&e))
            }
            // Connection exceptions (08) and operator intervention (57: the
            // server shutting down or crashed): the connection is gone.
            Some(c) if c.code().starts_with("08") || c.code().starts_with("57") => {
                Failure::Connection(describe(&e))
            }
            Some(_) => Failure::Other(db_err(e)),
            None if e.is_closed() || e.as_db_error().is_none() => Failure::Connection(describe(&e)),
            None => Failure::Other(db_err(e)),
        }
    }
}

/// A PostgreSQL error as the service reports it.
pub(super) fn db_err(e: postgres::Error) -> StoreError {
    StoreError::Database(describe(&e))
}

fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut s = format!("{} ({})", db.message(), db.code().code());
            if let Some(d) = db.detail() {
                s.push_str(": ");
                s.push_str(d);
            }
            s
        }
        None => {
            let mut s = e.to_string();
            if let Some(src) = std::error::Error::source(e) {
                s.push_str(": ");
                s.push_str(&src.to_string());
            }
            s
        }
    }
}
