//! Thin `PyO3` wrappers around the engine, one file per engine module (`dice.rs` wraps
//! `engine/dice.rs`, and so on). Validation and rules live in `engine`; this layer
//! converts arguments, holds locks and maps errors.

pub mod character;
mod detach;
pub mod dice;
pub mod duel;
pub mod error;
pub mod notation;
pub mod workshop;

use pyo3::prelude::*;

/// A `_core` function that rebuilds an object from its saved state, for `__reduce__`.
fn restorer<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    py.import("game_with_pyo3._core")?.getattr(name)
}
