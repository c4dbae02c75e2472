//! Bindings for `engine::notation`: `roll` and its result, `Roll`.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use super::error::IntoPy as _;
use pyo3::types::PyTuple;

use super::detach::Detach;
use super::dice::rng_for;
use super::restorer;
use engine::dice::DiceRng;
use engine::notation::{Expression, RollOutcome};
use engine::threads::Host as _;

/// The result of rolling a dice expression.
///
/// ``total`` is the value; ``dice`` every die in the order rolled, ``kept`` and
/// ``dropped`` the dice that did and did not count. ``str()`` shows the working,
/// with dropped dice in parentheses.
#[pyclass(frozen, module = "game_with_pyo3.dnd")]
pub struct Roll {
    #[pyo3(get)]
    expression: String,
    #[pyo3(get)]
    total: i64,
    #[pyo3(get)]
    dice: Vec<u32>,
    kept_mask: Vec<bool>,
    text: String,
}

impl From<RollOutcome> for Roll {
    fn from(outcome: RollOutcome) -> Self {
        let text = outcome.to_string();
        let mut dice = Vec::new();
        let mut kept_mask = Vec::new();
        for term in outcome.terms {
            dice.extend(term.rolls);
            kept_mask.extend(term.kept);
        }
        Self {
            expression: outcome.expression,
            total: outcome.total,
            dice,
            kept_mask,
            text,
        }
    }
}

impl Roll {
    fn filtered(&self, keep: bool) -> Vec<u32> {
        self.dice
            .iter()
            .zip(&self.kept_mask)
            .filter(|(_, k)| **k == keep)
            .map(|(d, _)| *d)
            .collect()
    }
}

#[pymethods]
impl Roll {
    /// ``Roll(expression, *, seed=None)`` rolls ``expression``, like ``dnd.roll``.
    #[new]
    #[pyo3(signature = (expression, *, seed = None))]
    fn new(py: Python<'_>, expression: &str, seed: Option<u64>) -> PyResult<Self> {
        roll_expression(py, expression, &mut rng_for(seed))
    }

    /// The dice that count towards ``total``.
    #[getter]
    fn kept(&self) -> Vec<u32> {
        self.filtered(true)
    }

    /// The dice removed by a keep/drop suffix.
    #[getter]
    fn dropped(&self) -> Vec<u32> {
        self.filtered(false)
    }

    fn __int__(&self) -> i64 {
        self.total
    }

    fn __str__(&self) -> &str {
        &self.text
    }

    fn __repr__(&self) -> String {
        format!("<Roll {:?} total={}>", self.expression, self.total)
    }

    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let this = slf.get();
        let restore = restorer(slf.py(), "_restore_roll")?;
        let args = (
            &this.expression,
            this.total,
            &this.dice,
            &this.kept_mask,
            &this.text,
        )
            .into_pyobject(slf.py())?;
        Ok((restore, args))
    }
}

#[pyfunction]
pub fn _restore_roll(
    expression: String,
    total: i64,
    dice: Vec<u32>,
    kept_mask: Vec<bool>,
    text: String,
) -> PyResult<Roll> {
    if dice.len() != kept_mask.len() {
        return Err(PyValueError::new_err("dice and kept_mask differ in length"));
    }
    Ok(Roll {
        expression,
        total,
        dice,
        kept_mask,
        text,
    })
}

fn roll_expression(py: Python<'_>, expression: &str, rng: &mut DiceRng) -> PyResult<Roll> {
    let parsed = Expression::parse(expression).into_py()?;
    let roll = Detach(py)
        .run(parsed.dice_count(), || parsed.roll(rng).map(Roll::from))
        .into_py()?;
    Ok(roll)
}

/// Roll dice notation such as ``"4d6kh3"``, ``"2d20kl1 + 5"`` or ``"d% - 1"``.
///
/// Terms are ``NdS``, ``dS``, ``d%`` (d100) and integer constants joined by ``+`` or
/// ``-``; a dice term may end in ``khN``/``klN`` (keep highest/lowest N) or
/// ``dhN``/``dlN`` (drop highest/lowest N). Letters are case-insensitive and spaces
/// are allowed. At most 10,000,000 dice per expression. Malformed notation raises
/// ``NotationError`` (a ``ValueError``) whose message and ``position`` point at the
/// problem.
#[pyfunction]
#[pyo3(signature = (expression, *, seed = None))]
pub fn roll(py: Python<'_>, expression: &str, seed: Option<u64>) -> PyResult<Roll> {
    roll_expression(py, expression, &mut rng_for(seed))
}
