//! The pure-Rust engine: no `PyO3` anywhere below this module.

pub mod character;
pub mod dice;
pub mod duel;
pub mod error;
pub mod notation;
pub mod workshop;
