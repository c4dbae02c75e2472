//! The one place where engine errors become Python exceptions.

use pyo3::exceptions::{
    PyKeyboardInterrupt, PyMemoryError, PyOverflowError, PyRuntimeError, PyValueError,
};
use pyo3::prelude::*;

use engine::error::Error;

pyo3::create_exception!(
    game_with_pyo3.dnd,
    NotationError,
    PyValueError,
    "Malformed dice notation. ``position`` is the 0-based offset of the problem (``None``\non an instance not raised by the parser)."
);

/// An engine result on its way to Python. The engine is another crate, so the orphan
/// rule forbids `From<engine::Error> for PyErr` here: engine results pass through
/// [`IntoPy::into_py`], the one mapping ([`to_py`]).
pub(crate) trait IntoPy<T> {
    fn into_py(self) -> PyResult<T>;
}

impl<T> IntoPy<T> for Result<T, Error> {
    fn into_py(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}

/// The Python exception an engine error becomes.
pub(crate) fn to_py(error: Error) -> PyErr {
    {
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
            Error::OutOfMemory { .. } => PyMemoryError::new_err(message),
            // Only a signal check cancels, and `bindings::duel` re-raises the exception
            // the signal handler raised; this is the fallback if a handler raised none.
            Error::Cancelled => PyKeyboardInterrupt::new_err(message),
            // A bug (a worker panicked): an ordinary exception that says so, not
            // PyO3's PanicException, a BaseException that `except Exception` misses.
            Error::Internal { .. } => PyRuntimeError::new_err(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pyo3::types::PyType;

    /// One of each variant. The match has no wildcard, so adding a variant stops this
    /// from compiling until the new variant is pinned in the table below as well.
    fn one_of_each() -> Vec<Error> {
        let all = vec![
            Error::out_of_range("sides", "must be between 1 and 2147483647, got 0"),
            Error::notation(4, "expected '+' or '-', found 'x'"),
            Error::Overflow {
                message: "the total of this expression does not fit in 64 bits".into(),
            },
            Error::InvalidState {
                message: "Brute has already fallen".into(),
            },
            Error::NegativeInput,
            Error::Cancelled,
            Error::OutOfMemory {
                message: "no memory for a buffer of 10000000 dice".into(),
            },
            Error::Internal {
                message: "a duel worker panicked: boom".into(),
            },
        ];
        for error in &all {
            match error {
                Error::OutOfRange { .. }
                | Error::Notation { .. }
                | Error::Overflow { .. }
                | Error::InvalidState { .. }
                | Error::NegativeInput
                | Error::Cancelled
                | Error::OutOfMemory { .. }
                | Error::Internal { .. } => {}
            }
        }
        all
    }

    /// The exact Python class (not a parent or a subclass) each variant becomes.
    fn pinned<'py>(py: Python<'py>, error: &Error) -> Bound<'py, PyType> {
        match error {
            Error::OutOfRange { .. } | Error::InvalidState { .. } | Error::NegativeInput => {
                py.get_type::<PyValueError>()
            }
            Error::Notation { .. } => py.get_type::<NotationError>(),
            Error::Overflow { .. } => py.get_type::<PyOverflowError>(),
            Error::OutOfMemory { .. } => py.get_type::<PyMemoryError>(),
            Error::Cancelled => py.get_type::<PyKeyboardInterrupt>(),
            Error::Internal { .. } => py.get_type::<PyRuntimeError>(),
        }
    }

    #[test]
    fn each_engine_error_becomes_its_python_exception() {
        Python::initialize();
        Python::attach(|py| {
            for error in one_of_each() {
                let message = error.to_string();
                let expected = pinned(py, &error);
                let err = to_py(error);
                assert!(
                    err.get_type(py).is(&expected),
                    "{message:?} became {}, not {expected}",
                    err.get_type(py)
                );
                assert_eq!(err.value(py).to_string(), message);
            }
        });
    }

    #[test]
    fn notation_errors_are_value_errors_that_carry_the_position() {
        Python::initialize();
        Python::attach(|py| {
            let err = to_py(Error::notation(4, "expected '+' or '-', found 'x'"));
            assert!(err.is_instance_of::<PyValueError>(py));
            let position: usize = err
                .value(py)
                .getattr("position")
                .and_then(|p| p.extract())
                .unwrap();
            assert_eq!(position, 4);
            let class = err.get_type(py);
            assert_eq!(
                class.fully_qualified_name().unwrap().to_string(),
                "game_with_pyo3.dnd.NotationError"
            );
        });
    }

    #[test]
    fn the_exact_messages_users_match_on() {
        assert_eq!(
            Error::NegativeInput.to_string(),
            "Input contains negative numbers"
        );
        assert!(
            Error::Internal {
                message: "x".into()
            }
            .to_string()
            .starts_with("internal error in game_with_pyo3")
        );
    }
}
