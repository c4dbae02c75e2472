//! Bindings for `engine::duel`: `simulate_duel` and `DuelStats`.

use std::collections::BTreeMap;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use super::error::IntoPy as _;

use super::character::PyCharacter;
use engine::character::Character as CoreCharacter;
use engine::dice;
use engine::duel;
use engine::error::Error;

/// Statistics of a Monte Carlo duel.
#[pyclass(frozen, module = "game_with_pyo3.dnd", get_all)]
pub struct DuelStats {
    trials: u64,
    wins_a: u64,
    wins_b: u64,
    /// Mean number of rounds (one attack by each side) per duel.
    mean_rounds: f64,
    /// ``{rounds: number of duels that lasted that many rounds}``.
    rounds: BTreeMap<u32, u64>,
}

#[pymethods]
impl DuelStats {
    /// Statistics come from ``simulate_duel``; the constructor exists for pickling.
    #[new]
    fn new(
        trials: u64,
        wins_a: u64,
        wins_b: u64,
        mean_rounds: f64,
        rounds: BTreeMap<u32, u64>,
    ) -> PyResult<Self> {
        let summed = rounds
            .values()
            .try_fold(0u64, |sum, &count| sum.checked_add(count));
        let total_rounds = rounds.iter().try_fold(0u64, |sum, (&length, &count)| {
            sum.checked_add(u64::from(length).checked_mul(count)?)
        });
        if trials == 0
            || wins_a.checked_add(wins_b) != Some(trials)
            || summed != Some(trials)
            || rounds.contains_key(&0)
        {
            return Err(PyValueError::new_err(
                "inconsistent statistics: need trials >= 1, wins_a + wins_b == trials and \
                 rounds (each >= 1) whose counts sum to trials",
            ));
        }
        // The mean is derived data: it must be the mean of `rounds` (as simulate_duel
        // computes it, up to rounding), which also rules out NaN and infinities.
        let mean = total_rounds.map(|total| total as f64 / trials as f64);
        if !mean.is_some_and(|mean| (mean - mean_rounds).abs() <= mean * 1e-12) {
            return Err(PyValueError::new_err(format!(
                "inconsistent statistics: mean_rounds={mean_rounds} is not the mean of rounds"
            )));
        }
        Ok(Self {
            trials,
            wins_a,
            wins_b,
            mean_rounds,
            rounds,
        })
    }

    /// Fraction of duels won by ``a``.
    #[getter]
    fn win_rate_a(&self) -> f64 {
        self.wins_a as f64 / self.trials as f64
    }

    fn __repr__(&self) -> String {
        format!(
            "DuelStats(trials={}, wins_a={}, wins_b={}, mean_rounds={:.3})",
            self.trials, self.wins_a, self.wins_b, self.mean_rounds
        )
    }

    fn __getnewargs__(&self) -> (u64, u64, u64, f64, BTreeMap<u32, u64>) {
        (
            self.trials,
            self.wins_a,
            self.wins_b,
            self.mean_rounds,
            self.rounds.clone(),
        )
    }
}

/// Simulate ``trials`` duels between copies of ``a`` and ``b``; the originals are
/// untouched.
///
/// Each duel: both roll initiative (d20 + DEX modifier; ties go to the higher DEX,
/// then a coin flip), then attack in turn (see ``Character``) until one falls. Runs
/// without holding the interpreter, in parallel over ``threads`` threads (default:
/// available cores, at most 256). The same ``seed`` gives the same result for any
/// thread count. ``trials`` is ``1..=100_000_000``; Ctrl-C interrupts a long run
/// (``KeyboardInterrupt``). A bug inside a worker thread (a Rust panic) raises
/// ``RuntimeError`` saying an internal error happened, never a cancellation.
#[pyfunction]
#[pyo3(signature = (a, b, *, trials = 10_000, seed = None, threads = None))]
pub fn simulate_duel(
    py: Python<'_>,
    a: &Bound<'_, PyCharacter>,
    b: &Bound<'_, PyCharacter>,
    trials: i64,
    seed: Option<u64>,
    threads: Option<i64>,
) -> PyResult<DuelStats> {
    run(py, a, b, seed, |a, b, seed, poll| {
        duel::simulate_duel(a, b, trials, seed, threads, poll)
    })
}

/// Test-only, not part of the API: ``simulate_duel`` with a worker that panics just
/// before trial ``panic_at``, so the tests can check how a bug inside a worker is
/// reported. It lives in release builds because the tests run against the released
/// wheel; it is absent from ``dnd`` and from the stub.
#[pyfunction]
#[pyo3(signature = (a, b, *, panic_at, trials = 10_000, threads = None))]
pub fn _simulate_duel_panicking_at(
    py: Python<'_>,
    a: &Bound<'_, PyCharacter>,
    b: &Bound<'_, PyCharacter>,
    panic_at: u64,
    trials: i64,
    threads: Option<i64>,
) -> PyResult<DuelStats> {
    let fault = move |trial: u64| {
        assert!(
            trial != panic_at,
            "test-only fault injected at trial {trial}"
        );
    };
    run(py, a, b, Some(0), |a, b, seed, poll| {
        duel::simulate_duel_with_hook(a, b, trials, seed, threads, poll, &fault)
    })
}

/// Snapshot both characters, then run `simulate` detached, polling for Ctrl-C.
fn run<F>(
    py: Python<'_>,
    a: &Bound<'_, PyCharacter>,
    b: &Bound<'_, PyCharacter>,
    seed: Option<u64>,
    simulate: F,
) -> PyResult<DuelStats>
where
    F: Send
        + FnOnce(
            &CoreCharacter,
            &CoreCharacter,
            u64,
            &mut dyn FnMut() -> bool,
        ) -> engine::error::Result<duel::DuelStats>,
{
    let a = a.get().snapshot(py);
    let b = b.get().snapshot(py);
    let seed = seed.unwrap_or_else(dice::entropy_seed);
    let mut interrupted: Option<PyErr> = None;
    let result = py.detach(|| {
        // A closure, not the method path: `attach` needs a callback for any lifetime.
        #[allow(clippy::redundant_closure_for_method_calls)]
        let mut poll = || match Python::attach(|py| py.check_signals()) {
            Ok(()) => false,
            Err(err) => {
                interrupted = Some(err);
                true
            }
        };
        simulate(&a, &b, seed, &mut poll)
    });
    match (result, interrupted) {
        // Ctrl-C: the exception the signal handler raised (KeyboardInterrupt), as is.
        (Err(Error::Cancelled), Some(err)) => Err(err),
        (result, _) => {
            let stats = result.into_py()?;
            Ok(DuelStats {
                trials: stats.trials,
                wins_a: stats.wins_a,
                wins_b: stats.wins_b,
                mean_rounds: stats.mean_rounds(),
                rounds: stats.rounds,
            })
        }
    }
}
