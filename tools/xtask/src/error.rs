//! A small error type with a context chain, so every failure says what xtask
//! was doing ("installing apt packages: running `apt-get update`: ...") without
//! pulling in an error crate.

use std::fmt;

/// An error with the chain of contexts it passed through, outermost first.
#[derive(Debug)]
pub struct Error {
    chain: Vec<String>,
    /// Exit code to use when this error ends the program.
    pub exit_code: i32,
}

/// xtask's result type.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// A new error with one message and exit code 1.
    pub fn msg(message: impl Into<String>) -> Error {
        Error {
            chain: vec![message.into()],
            exit_code: 1,
        }
    }

    /// A usage error (exit code 2).
    pub fn usage(message: impl Into<String>) -> Error {
        Error {
            chain: vec![message.into()],
            exit_code: 2,
        }
    }

    /// Wraps this error in an outer context.
    pub fn context(mut self, context: impl Into<String>) -> Error {
        self.chain.insert(0, context.into());
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.chain.join(": "))
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::msg(e.to_string())
    }
}

/// Adds context to any result whose error can become an [`Error`].
pub trait Context<T> {
    /// Wraps the error, if any, in `context`.
    fn context(self, context: impl Into<String>) -> Result<T>;
    /// Like [`Context::context`], building the message only on error.
    fn with_context<S: Into<String>>(self, f: impl FnOnce() -> S) -> Result<T>;
}

impl<T, E: Into<Error>> Context<T> for std::result::Result<T, E> {
    fn context(self, context: impl Into<String>) -> Result<T> {
        self.map_err(|e| e.into().context(context))
    }

    fn with_context<S: Into<String>>(self, f: impl FnOnce() -> S) -> Result<T> {
        self.map_err(|e| e.into().context(f()))
    }
}
