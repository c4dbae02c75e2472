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

/// The package version as Python spells it (PEP 440), which is what maturin writes into
/// the wheel's metadata: the `SemVer` of `Cargo.toml`, `1.2.0-rc.1`, is `1.2.0rc1`. Releases are
/// `X.Y.Z` or `X.Y.Z-{alpha,beta,rc}.N` (scripts/versioning.py refuses anything else).
#[must_use]
pub fn python_version(cargo: &str) -> String {
    let Some((release, pre)) = cargo.split_once('-') else {
        return cargo.to_owned();
    };
    let (kind, number) = pre.split_once('.').unwrap_or((pre, "0"));
    let kind = match kind {
        "alpha" => "a",
        "beta" => "b",
        other => other,
    };
    format!("{release}{kind}{number}")
}

#[cfg(test)]
mod tests {
    use super::python_version;

    #[test]
    fn versions_are_spelled_as_in_the_wheel_metadata() {
        for (cargo, python) in [
            ("0.1.0", "0.1.0"),
            ("1.2.0-rc.1", "1.2.0rc1"),
            ("1.2.0-alpha.3", "1.2.0a3"),
            ("1.2.0-beta.12", "1.2.0b12"),
            ("10.20.30-rc.0", "10.20.30rc0"),
        ] {
            assert_eq!(python_version(cargo), python, "{cargo}");
        }
    }
}
