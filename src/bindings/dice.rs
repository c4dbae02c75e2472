//! Bindings for `engine::dice`: `roll_dice` and the shareable `Roller`.

use std::sync::Mutex;

use pyo3::prelude::*;
use pyo3::types::PyTuple;

use super::notation::Roll;
use super::{detach, restorer};
use crate::engine::dice::{self, DiceRng};
use crate::engine::notation::Expression;

pub(crate) fn rng_for(seed: Option<u64>) -> DiceRng {
    seed.map_or_else(DiceRng::from_entropy, DiceRng::seeded)
}

/// Roll ``num_dice`` dice with ``sides`` sides each; every value is in ``1..=sides``.
///
/// ``sides`` may be up to ``2**31 - 1``; at most 10,000,000 dice per call. With
/// ``seed`` (``0 <= seed < 2**64``) the result is the same on every run, release and
/// platform. Raises ``ValueError`` for out-of-range arguments.
#[pyfunction]
#[pyo3(signature = (num_dice, sides, *, seed = None))]
pub fn roll_dice(
    py: Python<'_>,
    num_dice: i64,
    sides: i64,
    seed: Option<u64>,
) -> PyResult<Vec<u32>> {
    let (count, sides) = dice::check_dice(num_dice, sides)?;
    let mut rng = rng_for(seed);
    Ok(detach::run(py, count.into(), || rng.dice(count, sides)))
}

/// A seedable source of dice that threads can share.
///
/// Two Rollers created with the same ``seed`` produce the same sequence of results,
/// so a game can be replayed. Without a seed the stream is seeded from the operating
/// system. Calls from several threads are serialised; each call sees a consistent
/// stream. Pickling and copying keep the stream's position.
#[pyclass(frozen, module = "game_with_pyo3.dnd")]
pub struct Roller {
    seed: Option<u64>,
    pub(crate) rng: Mutex<DiceRng>,
}

#[pymethods]
impl Roller {
    #[new]
    #[pyo3(signature = (seed = None))]
    fn new(seed: Option<u64>) -> Self {
        Self {
            seed,
            rng: Mutex::new(rng_for(seed)),
        }
    }

    /// The seed this Roller was created with, or ``None``.
    #[getter]
    fn seed(&self) -> Option<u64> {
        self.seed
    }

    /// Roll ``num_dice`` dice with ``sides`` sides from this Roller's stream.
    fn roll_dice(&self, py: Python<'_>, num_dice: i64, sides: i64) -> PyResult<Vec<u32>> {
        let (count, sides) = dice::check_dice(num_dice, sides)?;
        Ok(detach::run_locked(py, &self.rng, count.into(), |rng| {
            rng.dice(count, sides)
        }))
    }

    /// Roll dice notation from this Roller's stream (see ``dnd.roll``).
    fn roll(&self, py: Python<'_>, expression: &str) -> PyResult<Roll> {
        let parsed = Expression::parse(expression)?;
        let dice = parsed.dice_count();
        // The stream is locked only while the dice are drawn, not while the result
        // is written out.
        let outcome = detach::run_locked(py, &self.rng, dice, |rng| parsed.roll(rng))?;
        Ok(detach::run(py, dice, || Roll::from(outcome)))
    }

    fn __repr__(&self) -> String {
        self.seed
            .map_or_else(|| "Roller()".to_owned(), |s| format!("Roller(seed={s})"))
    }

    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let this = slf.get();
        let restore = restorer(slf.py(), "_restore_roller")?;
        let state = detach::lock(slf.py(), &this.rng).state();
        let args = (this.seed, state).into_pyobject(slf.py())?;
        Ok((restore, args))
    }
}

#[pyfunction]
#[must_use]
pub fn _restore_roller(seed: Option<u64>, state: u128) -> Roller {
    Roller {
        seed,
        rng: Mutex::new(DiceRng::from_state(state)),
    }
}
