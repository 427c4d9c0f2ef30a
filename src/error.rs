//! The error type every core function returns.
//!
//! An error carries a kind, which the Lua shim maps to an HTTP status with one
//! table, and a message for people that names the value and what is accepted.

use std::fmt;

/// The category of a failure, in terms a caller can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input is malformed or out of range (HTTP 400).
    Invalid,
    /// The developer or other entity does not exist (HTTP 404).
    NotFound,
    /// The request clashes with the current state, such as a taken email or a
    /// status change the transition table forbids (HTTP 409).
    Conflict,
    /// Credentials are wrong, or the developer may not pass in their current
    /// status (HTTP 401).
    Unauthorized,
    /// A kong.conf setting is invalid; raised at start-up.
    Config,
    /// A feature is switched off in kong.conf (HTTP 501, as in Kong).
    Disabled,
    /// The store is busy, locked, read-only or out of space (HTTP 503); the
    /// request changed nothing and may be retried.
    Unavailable,
    /// Any other storage failure (HTTP 500). The message names what failed.
    Storage,
    /// The request body is larger than the configured limit (HTTP 413).
    TooLarge,
    /// The client sent too many requests in a time window (HTTP 429); the
    /// error's `retry_after` gives the seconds to wait.
    RateLimited,
}

impl ErrorKind {
    /// Returns the name the Lua side receives in `err.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Invalid => "invalid",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::Config => "config",
            ErrorKind::Disabled => "disabled",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Storage => "storage",
            ErrorKind::TooLarge => "too_large",
            ErrorKind::RateLimited => "rate_limited",
        }
    }
}

/// An error kind with a message that names the value and what is accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
    /// Seconds after which a retry can succeed, for `RateLimited` errors.
    pub retry_after: Option<u64>,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Invalid, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::NotFound, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Conflict, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Unauthorized, message)
    }

    pub fn config(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Config, message)
    }

    pub fn disabled(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Disabled, message)
    }

    pub fn too_large(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::TooLarge, message)
    }

    /// Creates a `RateLimited` error whose client may retry after
    /// `retry_after` seconds.
    pub fn rate_limited(message: impl Into<String>, retry_after: u64) -> Self {
        Error {
            retry_after: Some(retry_after),
            ..Error::new(ErrorKind::RateLimited, message)
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.as_str(), self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;
