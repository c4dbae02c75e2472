//! Bindings for `game_with_pyo3.dnd`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use super::lock;
use crate::engine::character::{Ability, AttackOutcome, Character as CoreCharacter};
use crate::engine::dice::{self, DiceRng};
use crate::engine::duel;
use crate::engine::error::Error;
use crate::engine::notation::{Expression, RollOutcome};
use crate::engine::sync::lock_pair;

/// Above this many dice, rolling releases the interpreter while it works.
const DETACH_ABOVE: i64 = 4_096;

/// A `_core` function that rebuilds an object from its saved state, for `__reduce__`.
fn restorer<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    py.import("game_with_pyo3._core")?.getattr(name)
}

fn rng_for(seed: Option<u64>) -> DiceRng {
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
    if num_dice > DETACH_ABOVE {
        Ok(py.detach(|| rng.dice(count, sides)))
    } else {
        Ok(rng.dice(count, sides))
    }
}

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
    let parsed = Expression::parse(expression)?;
    let outcome = if parsed.dice_count() > DETACH_ABOVE as u64 {
        py.detach(|| parsed.roll(rng))?
    } else {
        parsed.roll(rng)?
    };
    Ok(outcome.into())
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

/// A seedable source of dice that threads can share.
///
/// Two Rollers created with the same ``seed`` produce the same sequence of results,
/// so a game can be replayed. Without a seed the stream is seeded from the operating
/// system. Calls from several threads are serialised; each call sees a consistent
/// stream. Pickling and copying keep the stream's position.
#[pyclass(frozen, module = "game_with_pyo3.dnd")]
pub struct Roller {
    seed: Option<u64>,
    rng: Mutex<DiceRng>,
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
        if num_dice > DETACH_ABOVE {
            // Lock inside `detach` so a thread waiting for the lock never holds the
            // interpreter.
            Ok(py.detach(|| lock(&self.rng).dice(count, sides)))
        } else {
            Ok(lock(&self.rng).dice(count, sides))
        }
    }

    /// Roll dice notation from this Roller's stream (see ``dnd.roll``).
    fn roll(&self, py: Python<'_>, expression: &str) -> PyResult<Roll> {
        let parsed = Expression::parse(expression)?;
        let outcome = py.detach(|| parsed.roll(&mut lock(&self.rng)))?;
        Ok(outcome.into())
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
        let args = (this.seed, lock(&this.rng).state()).into_pyobject(slf.py())?;
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

/// Everything that happened in one attack.
#[pyclass(frozen, module = "game_with_pyo3.dnd", get_all)]
#[derive(Clone)]
pub struct AttackResult {
    /// The d20 as rolled.
    natural: u32,
    /// The attacker's STR modifier, added to the d20 and to damage.
    attack_bonus: i32,
    /// ``natural + attack_bonus``.
    attack_total: i32,
    /// The target's armour class for this attack (+2 if it was defending).
    target_armor_class: i32,
    hit: bool,
    critical: bool,
    /// Damage dealt to the target (0 on a miss).
    damage: u32,
    /// The target's health after the attack.
    target_health: u32,
}

impl From<AttackOutcome> for AttackResult {
    fn from(o: AttackOutcome) -> Self {
        Self {
            natural: o.natural,
            attack_bonus: o.attack_bonus,
            attack_total: o.attack_total,
            target_armor_class: o.target_armor_class,
            hit: o.hit,
            critical: o.critical,
            damage: o.damage,
            target_health: o.target_health,
        }
    }
}

#[pymethods]
impl AttackResult {
    /// Results come from ``Character.attack``; the constructor exists for pickling.
    #[new]
    #[allow(clippy::too_many_arguments, clippy::fn_params_excessive_bools)]
    fn new(
        natural: u32,
        attack_bonus: i32,
        attack_total: i32,
        target_armor_class: i32,
        hit: bool,
        critical: bool,
        damage: u32,
        target_health: u32,
    ) -> Self {
        Self {
            natural,
            attack_bonus,
            attack_total,
            target_armor_class,
            hit,
            critical,
            damage,
            target_health,
        }
    }

    fn __repr__(&self) -> String {
        format!(
            "AttackResult(natural={}, attack_bonus={}, attack_total={}, target_armor_class={}, hit={}, critical={}, damage={}, target_health={})",
            self.natural,
            self.attack_bonus,
            self.attack_total,
            self.target_armor_class,
            if self.hit { "True" } else { "False" },
            if self.critical { "True" } else { "False" },
            self.damage,
            self.target_health
        )
    }

    #[allow(clippy::type_complexity)]
    fn __getnewargs__(&self) -> (u32, i32, i32, i32, bool, bool, u32, u32) {
        (
            self.natural,
            self.attack_bonus,
            self.attack_total,
            self.target_armor_class,
            self.hit,
            self.critical,
            self.damage,
            self.target_health,
        )
    }
}

/// A combatant with health and the six ability scores (each ``1..=30``).
///
/// Rules: ability modifier = ``floor((score - 10) / 2)``; ``armor_class`` = 10 + DEX
/// modifier (+2 while defending). ``attack`` rolls d20 + STR modifier against the
/// target's armour class: a natural 20 always hits and is critical (damage dice
/// doubled), a natural 1 always misses; a hit deals 1d8 + STR modifier, at least 1.
/// ``defend()`` lasts until the next attack against this character resolves. A fallen
/// character (health 0) can neither attack nor be attacked until healed. Health is
/// ``1..=10000`` at creation. All methods are safe to call from many threads at once.
#[pyclass(frozen, module = "game_with_pyo3.dnd", name = "Character")]
pub struct PyCharacter {
    state: Mutex<CoreCharacter>,
}

impl PyCharacter {
    pub(crate) fn snapshot(&self) -> CoreCharacter {
        lock(&self.state).clone()
    }
}

#[pymethods]
impl PyCharacter {
    #[new]
    #[pyo3(signature = (name, health, strength, dexterity = 10, constitution = 10, intelligence = 10, wisdom = 10, charisma = 10))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        name: &str,
        health: i64,
        strength: i64,
        dexterity: i64,
        constitution: i64,
        intelligence: i64,
        wisdom: i64,
        charisma: i64,
    ) -> PyResult<Self> {
        let core = CoreCharacter::new(
            name,
            health,
            [
                strength,
                dexterity,
                constitution,
                intelligence,
                wisdom,
                charisma,
            ],
        )?;
        Ok(Self {
            state: Mutex::new(core),
        })
    }

    #[getter]
    fn name(&self) -> String {
        lock(&self.state).name().to_owned()
    }
    /// Current health.
    #[getter]
    fn health(&self) -> u32 {
        lock(&self.state).health()
    }
    #[getter]
    fn max_health(&self) -> u32 {
        lock(&self.state).max_health()
    }
    #[getter]
    fn strength(&self) -> u8 {
        lock(&self.state).score(Ability::Strength)
    }
    #[getter]
    fn dexterity(&self) -> u8 {
        lock(&self.state).score(Ability::Dexterity)
    }
    #[getter]
    fn constitution(&self) -> u8 {
        lock(&self.state).score(Ability::Constitution)
    }
    #[getter]
    fn intelligence(&self) -> u8 {
        lock(&self.state).score(Ability::Intelligence)
    }
    #[getter]
    fn wisdom(&self) -> u8 {
        lock(&self.state).score(Ability::Wisdom)
    }
    #[getter]
    fn charisma(&self) -> u8 {
        lock(&self.state).score(Ability::Charisma)
    }
    /// 10 + DEX modifier (without the defending bonus).
    #[getter]
    fn armor_class(&self) -> i32 {
        lock(&self.state).armor_class()
    }
    #[getter]
    fn is_alive(&self) -> bool {
        lock(&self.state).is_alive()
    }
    /// Whether the character is in a defensive stance.
    #[getter]
    fn is_defending(&self) -> bool {
        lock(&self.state).is_defending()
    }

    /// The 5e modifier ``floor((score - 10) / 2)`` of an ability, named in full or by
    /// its three-letter abbreviation (``"strength"``, ``"dex"``, ...).
    fn modifier(&self, ability: &str) -> PyResult<i32> {
        let ability = Ability::parse(ability)?;
        Ok(lock(&self.state).modifier(ability))
    }

    /// Attack ``target`` once and apply the damage to it; see the class docstring for
    /// the rules. Dice come from ``roller`` when given (replayable), else from a fresh
    /// OS-seeded stream. Raises ``ValueError`` if either side has fallen or the
    /// character attacks itself.
    #[pyo3(signature = (target, *, roller = None))]
    fn attack(
        &self,
        target: &Bound<'_, PyCharacter>,
        roller: Option<&Bound<'_, Roller>>,
    ) -> PyResult<AttackResult> {
        let target = target.get();
        if std::ptr::eq(self, target) {
            return Err(PyValueError::new_err("a character cannot attack itself"));
        }
        let mut fresh;
        let mut shared;
        // Lock order is always: roller, then the two characters by address.
        let rng: &mut DiceRng = if let Some(roller) = roller {
            shared = lock(&roller.get().rng);
            &mut shared
        } else {
            fresh = DiceRng::from_entropy();
            &mut fresh
        };
        let (attacker, mut defender) = lock_pair(&self.state, &target.state);
        Ok(attacker.attack(&mut defender, rng)?.into())
    }

    /// Take a defensive stance: +2 armour class until the next attack on this
    /// character resolves.
    fn defend(&self) {
        lock(&self.state).defend();
    }

    /// Heal by ``amount`` (``>= 0``), capped at ``max_health``; returns the new health.
    /// Healing a fallen character brings it back.
    fn heal(&self, amount: i64) -> PyResult<u32> {
        Ok(lock(&self.state).heal(amount)?)
    }

    /// Take ``amount`` (``>= 0``) damage, floored at 0; returns the new health.
    fn take_damage(&self, amount: i64) -> PyResult<u32> {
        Ok(lock(&self.state).take_damage(amount)?)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let c = self.snapshot();
        let s = c.scores();
        let name = pyo3::types::PyString::new(py, c.name()).repr()?;
        let mut text = format!(
            "Character({}, health={}, strength={}, dexterity={}, constitution={}, intelligence={}, wisdom={}, charisma={})",
            name,
            c.max_health(),
            s[0],
            s[1],
            s[2],
            s[3],
            s[4],
            s[5]
        );
        if c.health() != c.max_health() {
            let _ = write!(text, " [health {}/{}]", c.health(), c.max_health());
        }
        Ok(text)
    }

    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let c = slf.get().snapshot();
        let restore = restorer(slf.py(), "_restore_character")?;
        let args = (
            c.name(),
            c.health(),
            c.max_health(),
            c.scores().to_vec(),
            c.is_defending(),
        )
            .into_pyobject(slf.py())?;
        Ok((restore, args))
    }
}

#[pyfunction]
pub fn _restore_character(
    name: &str,
    health: i64,
    max_health: i64,
    scores: [i64; 6],
    defending: bool,
) -> PyResult<PyCharacter> {
    let core = CoreCharacter::restore(name, health, max_health, scores, defending)?;
    Ok(PyCharacter {
        state: Mutex::new(core),
    })
}

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
        if trials == 0
            || wins_a.checked_add(wins_b) != Some(trials)
            || rounds.values().sum::<u64>() != trials
        {
            return Err(PyValueError::new_err(
                "inconsistent statistics: need trials >= 1, wins_a + wins_b == trials and rounds summing to trials",
            ));
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
/// thread count. ``trials`` is ``1..=100_000_000``; Ctrl-C interrupts a long run.
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
    let a = a.get().snapshot();
    let b = b.get().snapshot();
    let threads = threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map_or(1, |n| i64::try_from(n.get()).unwrap_or(1))
            .min(duel::MAX_THREADS)
    });
    duel::check_duel(&a, &b, trials, threads)?;
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
        duel::simulate_duel(&a, &b, trials, seed, threads, &mut poll)
    });
    match (result, interrupted) {
        (Err(Error::Cancelled), Some(err)) => Err(err),
        (result, _) => {
            let stats = result?;
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
