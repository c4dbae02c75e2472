//! The one error type of the engine. Bindings map each variant to one Python
//! exception class in a single `From<Error> for PyErr`.

use std::any::Any;
use std::fmt;

/// Everything the engine can refuse.
#[derive(Debug, PartialEq, Eq)]
pub enum Error {
    /// An argument is outside its documented range; `argument` names it.
    OutOfRange {
        argument: &'static str,
        message: String,
    },
    /// Dice notation could not be parsed; `position` is a 0-based character offset.
    Notation { position: usize, message: String },
    /// An arithmetic result does not fit the engine's integer types.
    Overflow { message: String },
    /// The operation is not allowed in the current state (e.g. a fallen attacker).
    InvalidState { message: String },
    /// `sum_of_squares` was given a negative number (the workshop's exact message).
    NegativeInput,
    /// A long computation was asked to stop before it finished.
    Cancelled,
    /// A buffer the work needs could not be allocated; nothing was drawn.
    OutOfMemory { message: String },
    /// A bug: something the engine guarantees cannot happen did (e.g. a worker thread
    /// panicked). Never a problem with the caller's input.
    Internal { message: String },
}

impl Error {
    pub fn out_of_range(argument: &'static str, message: impl Into<String>) -> Self {
        Self::OutOfRange {
            argument,
            message: message.into(),
        }
    }

    pub fn notation(position: usize, message: impl Into<String>) -> Self {
        Self::Notation {
            position,
            message: message.into(),
        }
    }

    /// A panic caught where a thread ends (`what` names the thread), reported as the
    /// bug it is instead of unwinding into Python.
    #[must_use]
    pub fn from_panic(what: &str, payload: &(dyn Any + Send)) -> Self {
        let detail = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("no message");
        Self::Internal {
            message: format!("{what} panicked: {detail}"),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OutOfRange { argument, message } => write!(f, "{argument} {message}"),
            Self::Notation { position, message } => {
                write!(f, "{message} at position {position}")
            }
            Self::Overflow { message }
            | Self::InvalidState { message }
            | Self::OutOfMemory { message } => f.write_str(message),
            Self::NegativeInput => f.write_str("Input contains negative numbers"),
            Self::Cancelled => f.write_str("the computation was cancelled"),
            Self::Internal { message } => write!(
                f,
                "internal error in game_with_pyo3 (a bug; please report it): {message}"
            ),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;
