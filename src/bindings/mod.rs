//! Thin `PyO3` wrappers around the engine. Validation and rules live in `engine`;
//! this layer converts arguments, holds locks and maps errors.

pub mod dnd;
pub mod errors;
pub mod pycool;

pub(crate) use crate::engine::sync::lock;
