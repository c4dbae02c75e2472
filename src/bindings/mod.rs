//! Thin PyO3 wrappers around the engine. Validation and rules live in `engine`;
//! this layer converts arguments, holds locks and maps errors.

pub mod dnd;
pub mod errors;
pub mod pycool;

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Lock a mutex whose data is valid whatever a panicking holder left (every update
/// here is a single assignment), so poisoning is not an error.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
