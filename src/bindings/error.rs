//! The one place where engine errors become Python exceptions.

use pyo3::exceptions::{PyOverflowError, PyRuntimeError, PyValueError};
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
            Error::Cancelled => PyRuntimeError::new_err(message),
        }
    }
}
