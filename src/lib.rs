//! `game_with_pyo3`: thin Python bindings (`bindings`) over the pure-Rust engine crate
//! (`crates/engine`, here `engine`), exported as the private module `game_with_pyo3._core`.

pub mod bindings;

use pyo3::prelude::*;

/// Private native module; import `game_with_pyo3.dnd` and `game_with_pyo3.pycool`.
#[pymodule]
mod _core {
    #[pymodule_export]
    use crate::bindings::character::{_restore_character, AttackResult, PyCharacter};
    #[pymodule_export]
    use crate::bindings::dice::{_restore_roller, Roller, roll_dice, roll_dice_array};
    #[pymodule_export]
    use crate::bindings::duel::{_simulate_duel_panicking_at, DuelStats, simulate_duel};
    #[pymodule_export]
    use crate::bindings::error::NotationError;
    #[pymodule_export]
    use crate::bindings::notation::{_restore_roll, Roll, roll};
    #[pymodule_export]
    use crate::bindings::workshop::{
        FrozenCounter, LazyConfig, LockCounter, Point, move_point, sum_of_squares,
    };

    use pyo3::prelude::*;

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add(
            "__version__",
            crate::bindings::python_version(env!("CARGO_PKG_VERSION")),
        )?;
        m.add("MAX_DICE", engine::dice::MAX_DICE)?;
        m.add("MAX_HEALTH", engine::character::MAX_HEALTH)?;
        crate::bindings::character::AbilityScore::install(m.py())?;
        // Errors the parser raises carry their own `position`; one made by hand reads
        // the class's None instead of raising AttributeError.
        m.py()
            .get_type::<NotationError>()
            .setattr("position", m.py().None())?;
        Ok(())
    }
}
