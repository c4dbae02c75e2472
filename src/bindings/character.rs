//! Bindings for `engine::character`: `Character` and `AttackResult`.

use std::fmt::Write as _;
use std::sync::{Mutex, MutexGuard};

use pyo3::exceptions::PyAttributeError;
use pyo3::prelude::*;

use super::error::IntoPy as _;
use pyo3::types::PyTuple;

use super::detach::{self, Pair};
use super::dice::Roller;
use super::restorer;
use engine::character::{Ability, AttackOutcome, Character as CoreCharacter, Target};
use engine::dice::DiceRng;

/// Everything that happened in one attack.
#[pyclass(frozen, module = "game_with_pyo3.dnd", get_all)]
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
    fn lock<'a>(&'a self, py: Python<'_>) -> MutexGuard<'a, CoreCharacter> {
        detach::lock(py, &self.state)
    }

    pub(crate) fn snapshot(&self, py: Python<'_>) -> CoreCharacter {
        self.lock(py).clone()
    }

    /// One attack on `target` with dice from `rng`, both characters locked as a pair.
    fn attack_with(
        &self,
        py: Python<'_>,
        target: &Bound<'_, Self>,
        rng: &mut DiceRng,
    ) -> engine::error::Result<AttackOutcome> {
        match detach::lock_pair(py, &self.state, &target.get().state) {
            Pair::Same(attacker) => attacker.attack(Target::Itself, rng),
            Pair::Distinct(attacker, mut defender) => {
                attacker.attack(Target::Other(&mut defender), rng)
            }
        }
    }
}

/// An ability score of a ``Character`` (read-only).
///
/// One definition for the six abilities: `_core`'s init installs one of these on
/// `Character` under each name of `engine::character::Ability::ALL`. A data descriptor
/// (it has `__set__`), so it behaves as a read-only property.
#[pyclass(frozen, module = "game_with_pyo3.dnd")]
pub struct AbilityScore(Ability);

impl AbilityScore {
    fn read_only(&self) -> PyErr {
        PyAttributeError::new_err(format!("Character.{} is read-only", self.0.name()))
    }

    /// Install the six ability attributes on `Character`.
    pub(crate) fn install(py: Python<'_>) -> PyResult<()> {
        let character = py.get_type::<PyCharacter>();
        for ability in Ability::ALL {
            character.setattr(ability.name(), Self(ability))?;
        }
        Ok(())
    }
}

#[pymethods]
impl AbilityScore {
    /// The score of `instance`, or the descriptor itself when read from the class.
    fn __get__<'py>(
        slf: &Bound<'py, Self>,
        instance: Option<&Bound<'py, PyCharacter>>,
        _owner: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        match instance {
            Some(character) => Ok(character
                .get()
                .lock(py)
                .score(slf.get().0)
                .into_pyobject(py)?
                .into_any()),
            None => Ok(slf.clone().into_any()),
        }
    }

    fn __set__(&self, _instance: &Bound<'_, PyAny>, _value: &Bound<'_, PyAny>) -> PyResult<()> {
        Err(self.read_only())
    }

    fn __delete__(&self, _instance: &Bound<'_, PyAny>) -> PyResult<()> {
        Err(self.read_only())
    }

    fn __repr__(&self) -> String {
        format!("<ability score {:?} of Character>", self.0.name())
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
        )
        .into_py()?;
        Ok(Self {
            state: Mutex::new(core),
        })
    }

    #[getter]
    fn name(&self, py: Python<'_>) -> String {
        self.lock(py).name().to_owned()
    }
    /// Current health.
    #[getter]
    fn health(&self, py: Python<'_>) -> u32 {
        self.lock(py).health()
    }
    #[getter]
    fn max_health(&self, py: Python<'_>) -> u32 {
        self.lock(py).max_health()
    }
    /// 10 + DEX modifier (without the defending bonus).
    #[getter]
    fn armor_class(&self, py: Python<'_>) -> i32 {
        self.lock(py).armor_class()
    }
    #[getter]
    fn is_alive(&self, py: Python<'_>) -> bool {
        self.lock(py).is_alive()
    }
    /// Whether the character is in a defensive stance.
    #[getter]
    fn is_defending(&self, py: Python<'_>) -> bool {
        self.lock(py).is_defending()
    }

    /// The 5e modifier ``floor((score - 10) / 2)`` of an ability, named in full or by
    /// its three-letter abbreviation (``"strength"``, ``"dex"``, ...).
    fn modifier(&self, py: Python<'_>, ability: &str) -> PyResult<i32> {
        let ability = Ability::parse(ability).into_py()?;
        Ok(self.lock(py).modifier(ability))
    }

    /// Attack ``target`` once and apply the damage to it; see the class docstring for
    /// the rules. Dice come from ``roller`` when given (replayable), else from a fresh
    /// OS-seeded stream. Raises ``ValueError`` if either side has fallen or the
    /// character attacks itself.
    #[pyo3(signature = (target, *, roller = None))]
    fn attack(
        &self,
        py: Python<'_>,
        target: &Bound<'_, PyCharacter>,
        roller: Option<&Bound<'_, Roller>>,
    ) -> PyResult<AttackResult> {
        // The lock order of `detach`: the roller, then both characters as a pair; every
        // lock is released before the outcome or its error becomes a Python object.
        let outcome = match roller {
            Some(roller) => self.attack_with(py, target, &mut detach::lock(py, &roller.get().rng)),
            None => self.attack_with(py, target, &mut DiceRng::from_entropy()),
        };
        Ok(outcome.into_py()?.into())
    }

    /// Take a defensive stance: +2 armour class until the next attack on this
    /// character resolves.
    fn defend(&self, py: Python<'_>) {
        self.lock(py).defend();
    }

    /// Heal by ``amount`` (``>= 0``), capped at ``max_health``; returns the new health.
    /// Healing a fallen character brings it back.
    fn heal(&self, py: Python<'_>, amount: i64) -> PyResult<u32> {
        self.lock(py).heal(amount).into_py()
    }

    /// Take ``amount`` (``>= 0``) damage, floored at 0; returns the new health.
    fn take_damage(&self, py: Python<'_>, amount: i64) -> PyResult<u32> {
        self.lock(py).take_damage(amount).into_py()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let c = self.snapshot(py);
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
        let c = slf.get().snapshot(slf.py());
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
    let core = CoreCharacter::restore(name, health, max_health, scores, defending).into_py()?;
    Ok(PyCharacter {
        state: Mutex::new(core),
    })
}
