//! The one place where engine errors become Python exceptions.

use pyo3::exceptions::{PyKeyboardInterrupt, PyOverflowError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;

use crate::engine::error::Error;

pyo3::create_exception!(
    game_with_pyo3.dnd,
    NotationError,
    PyValueError,
    "Malformed dice notation. ``position`` is the 0-based offset of the problem."
);

impl From<Error> for PyErr {
    fn from(error: Error) -> Self {
        let message = error.to_string();
        match error {
            Error::OutOfRange { .. } | Error::InvalidState { .. } | Error::NegativeInput => {
                PyValueError::new_err(message)
            }
            Error::Notation { position, .. } => Python::attach(|py| {
                let err = NotationError::new_err(message);
                // Best effort: the message already carries the position.
                let _ = err.value(py).setattr("position", position);
                err
            }),
            Error::Overflow { .. } => PyOverflowError::new_err(message),
            // Only a signal check cancels, and `bindings::duel` re-raises the exception
            // the signal handler raised; this is the fallback if a handler raised none.
            Error::Cancelled => PyKeyboardInterrupt::new_err(message),
            // A bug (a worker panicked): an ordinary exception that says so, not
            // PyO3's PanicException, a BaseException that `except Exception` misses.
            Error::Internal { .. } => PyRuntimeError::new_err(message),
        }
    }
}
