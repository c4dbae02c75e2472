//! The dice and character engine of `game_with_pyo3`: plain Rust, deterministic when
//! handed a seeded stream. This crate's manifest has no `PyO3`, so no Python type can
//! reach the engine; the extension crate at the repository's root wraps it.

pub mod character;
pub mod dice;
pub mod duel;
pub mod error;
pub mod notation;
pub mod threads;
pub mod workshop;
