//! Characters and the attack rules.
//!
//! Rules (5e-flavoured, kept small):
//! - ability modifier = floor((score - 10) / 2); scores are `1..=30`;
//! - armour class = 10 + DEX modifier, +2 while the target is defending;
//! - an attack rolls d20 + STR modifier against that armour class; a natural 20
//!   always hits and is critical, a natural 1 always misses;
//! - a hit deals 1d8 + STR modifier (2d8 + STR modifier on a critical), at least 1;
//! - a defending stance lasts until the next attack against the character resolves;
//! - a fallen character (health 0) can neither attack nor be attacked;
//! - a character cannot attack itself.

use crate::dice::{DiceRng, Reach};
use crate::error::{Error, Result};

/// Highest health a character may be created with. It bounds how long a duel can
/// run (damage per hit is at least 1).
pub const MAX_HEALTH: i64 = 10_000;
pub const MIN_SCORE: i64 = 1;
pub const MAX_SCORE: i64 = 30;

#[derive(Debug, Clone, Copy)]
pub enum Ability {
    Strength,
    Dexterity,
    Constitution,
    Intelligence,
    Wisdom,
    Charisma,
}

impl Ability {
    pub const ALL: [Self; 6] = [
        Self::Strength,
        Self::Dexterity,
        Self::Constitution,
        Self::Intelligence,
        Self::Wisdom,
        Self::Charisma,
    ];

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Strength => "strength",
            Self::Dexterity => "dexterity",
            Self::Constitution => "constitution",
            Self::Intelligence => "intelligence",
            Self::Wisdom => "wisdom",
            Self::Charisma => "charisma",
        }
    }

    /// Accepts the full name or the three-letter abbreviation, any case.
    pub fn parse(text: &str) -> Result<Self> {
        let lower = text.to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|a| a.name() == lower || a.name()[..3] == lower)
            .ok_or_else(|| Error::out_of_range("ability", format!("must be one of strength, dexterity, constitution, intelligence, wisdom, charisma (or str, dex, con, int, wis, cha), got {text:?}")))
    }
}

/// The 5e ability modifier.
#[must_use]
pub fn modifier(score: u8) -> i32 {
    (i32::from(score) - 10).div_euclid(2)
}

#[derive(Debug, Clone)]
pub struct Character {
    name: String,
    health: u32,
    max_health: u32,
    scores: [u8; 6],
    defending: bool,
}

/// Whom an attack is aimed at. Callers that share characters between threads (the
/// bindings) lock both sides first and may find they are the same character; the
/// rules refuse that here, like every other illegal attack.
#[derive(Debug)]
pub enum Target<'a> {
    Other(&'a mut Character),
    Itself,
}

/// Everything that happened in one attack.
#[derive(Debug)]
pub struct AttackOutcome {
    pub natural: u32,
    pub attack_bonus: i32,
    pub attack_total: i32,
    pub target_armor_class: i32,
    pub hit: bool,
    pub critical: bool,
    pub damage: u32,
    pub target_health: u32,
}

impl Character {
    /// A character at full health. `scores` are in `Ability::ALL` order.
    pub fn new(name: &str, health: i64, scores: [i64; 6]) -> Result<Self> {
        if name.trim().is_empty() {
            return Err(Error::out_of_range("name", "must not be empty"));
        }
        if !(1..=MAX_HEALTH).contains(&health) {
            return Err(Error::out_of_range(
                "health",
                format!("must be between 1 and {MAX_HEALTH}, got {health}"),
            ));
        }
        let mut checked = [0u8; 6];
        for ((slot, score), ability) in checked.iter_mut().zip(scores).zip(Ability::ALL) {
            if !(MIN_SCORE..=MAX_SCORE).contains(&score) {
                return Err(Error::out_of_range(
                    ability.name(),
                    format!("must be between {MIN_SCORE} and {MAX_SCORE}, got {score}"),
                ));
            }
            *slot = score as u8;
        }
        Ok(Self {
            name: name.to_owned(),
            health: health as u32,
            max_health: health as u32,
            scores: checked,
            defending: false,
        })
    }

    /// Restore a saved state (pickle): full validation plus `health <= max_health`.
    pub fn restore(
        name: &str,
        health: i64,
        max_health: i64,
        scores: [i64; 6],
        defending: bool,
    ) -> Result<Self> {
        let mut character = Self::new(name, max_health, scores)?;
        if !(0..=max_health).contains(&health) {
            return Err(Error::out_of_range(
                "health",
                format!("must be between 0 and max_health ({max_health}), got {health}"),
            ));
        }
        character.health = health as u32;
        character.defending = defending;
        Ok(character)
    }

    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }
    #[must_use]
    pub fn health(&self) -> u32 {
        self.health
    }
    #[must_use]
    pub fn max_health(&self) -> u32 {
        self.max_health
    }
    #[must_use]
    pub fn score(&self, ability: Ability) -> u8 {
        self.scores[ability as usize]
    }
    #[must_use]
    pub fn scores(&self) -> [u8; 6] {
        self.scores
    }
    #[must_use]
    pub fn modifier(&self, ability: Ability) -> i32 {
        modifier(self.score(ability))
    }
    #[must_use]
    pub fn armor_class(&self) -> i32 {
        10 + self.modifier(Ability::Dexterity)
    }
    #[must_use]
    pub fn is_alive(&self) -> bool {
        self.health > 0
    }
    #[must_use]
    pub fn is_defending(&self) -> bool {
        self.defending
    }

    pub fn defend(&mut self) {
        self.defending = true;
    }

    /// Heal by `amount`, capped at `max_health`; returns the new health.
    pub fn heal(&mut self, amount: i64) -> Result<u32> {
        let amount = check_amount(amount)?;
        self.health = self.health.saturating_add(amount).min(self.max_health);
        Ok(self.health)
    }

    /// Take `amount` damage, floored at 0; returns the new health.
    pub fn take_damage(&mut self, amount: i64) -> Result<u32> {
        let amount = check_amount(amount)?;
        self.health = self.health.saturating_sub(amount);
        Ok(self.health)
    }

    /// Resolve one attack of `self` on `target`, drawing dice from `rng`.
    /// Validates before rolling, so a refused attack changes nothing.
    pub fn attack(&self, target: Target<'_>, rng: &mut DiceRng) -> Result<AttackOutcome> {
        let Target::Other(target) = target else {
            return Err(Error::InvalidState {
                message: "a character cannot attack itself".into(),
            });
        };
        if !self.is_alive() {
            return Err(Error::InvalidState {
                message: format!("{} has fallen and cannot attack", self.name),
            });
        }
        if !target.is_alive() {
            return Err(Error::InvalidState {
                message: format!("{} has already fallen", target.name),
            });
        }
        Ok(self.strike(target, rng))
    }

    /// The attack itself, for callers that know both sides are standing.
    pub(crate) fn strike(&self, target: &mut Self, rng: &mut DiceRng) -> AttackOutcome {
        let attack_bonus = self.modifier(Ability::Strength);
        let target_armor_class = target.armor_class() + if target.defending { 2 } else { 0 };
        let swing = swing(attack_bonus, to_hit(attack_bonus, target_armor_class), rng);
        target.health = target.health.saturating_sub(swing.damage);
        target.defending = false;
        AttackOutcome {
            natural: swing.natural,
            attack_bonus,
            attack_total: swing.natural as i32 + attack_bonus,
            target_armor_class,
            hit: swing.hit,
            critical: swing.critical,
            damage: swing.damage,
            target_health: target.health,
        }
    }
}

/// One attack roll and its damage, before they are applied to the target.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Swing {
    pub natural: u32,
    pub hit: bool,
    pub critical: bool,
    pub damage: u32,
}

/// The natural d20 an attack with `attack_bonus` needs against `armor_class`: d20 +
/// bonus must reach the armour class, a natural 1 always misses and a natural 20 always
/// hits — so the need is `armor_class - attack_bonus`, held to `2..=20` — prepared for
/// [`swing`].
#[must_use]
pub(crate) fn to_hit(attack_bonus: i32, armor_class: i32) -> Reach {
    Reach::new(
        20,
        armor_class.saturating_sub(attack_bonus).clamp(2, 20) as u32,
    )
}

/// The attack rule, the one place it is written (`Character::strike` and the duel both
/// call it), with [`to_hit`]: roll a d20; it hits at `to_hit` or more, and a natural 20
/// is critical; a hit deals 1d8 (2d8 on a critical) + `attack_bonus`, at least 1. The
/// d20 is drawn first, then the damage dice.
///
/// Whether an attack hits is a coin flip to the processor, so the damage die is drawn
/// as [`DiceRng::die_if`] draws it ([`DiceRng::attack_dice`]) and the damage is
/// selected, not branched on: with a branch
/// on the hit, mispredicted on half the attacks, Monte Carlo duels ran about 25% slower.
/// Whether the die is drawn decides where the next attack's d20 comes from, so in a
/// duel every attack waits for the previous one's hit; [`DiceRng::die_reaching`] tells
/// it early.
#[inline]
pub(crate) fn swing(attack_bonus: i32, to_hit: Reach, rng: &mut DiceRng) -> Swing {
    let (natural, [hit, critical], mut rolled) =
        rng.attack_dice(20, &[to_hit, Reach::new(20, 20)], 8);
    // A branch is right for the second die: one attack in twenty is critical.
    if critical {
        rolled += rng.die(8);
    }
    // Arithmetic, not `if`: a branch here would be mispredicted on half the attacks.
    let damage = (rolled as i32 + attack_bonus).max(1) as u32 & u32::from(hit).wrapping_neg();
    Swing {
        natural,
        hit,
        critical,
        damage,
    }
}

fn check_amount(amount: i64) -> Result<u32> {
    if amount < 0 {
        return Err(Error::out_of_range(
            "amount",
            format!("must not be negative, got {amount}"),
        ));
    }
    Ok(u32::try_from(amount).unwrap_or(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hero() -> Character {
        Character::new("Hero", 20, [16, 14, 10, 10, 10, 10]).unwrap()
    }

    #[test]
    fn modifiers_follow_the_5e_table() {
        let expected = [
            (1, -5),
            (8, -1),
            (9, -1),
            (10, 0),
            (11, 0),
            (12, 1),
            (30, 10),
        ];
        for (score, m) in expected {
            assert_eq!(modifier(score), m, "score {score}");
        }
        assert_eq!(hero().armor_class(), 12);
    }

    #[test]
    fn creation_validates_every_argument() {
        let ok = [10; 6];
        assert!(matches!(
            Character::new(" ", 5, ok),
            Err(Error::OutOfRange {
                argument: "name",
                ..
            })
        ));
        assert!(matches!(
            Character::new("a", 0, ok),
            Err(Error::OutOfRange {
                argument: "health",
                ..
            })
        ));
        assert!(matches!(
            Character::new("a", MAX_HEALTH + 1, ok),
            Err(Error::OutOfRange {
                argument: "health",
                ..
            })
        ));
        assert!(matches!(
            Character::new("a", 5, [10, 31, 10, 10, 10, 10]),
            Err(Error::OutOfRange {
                argument: "dexterity",
                ..
            })
        ));
        assert!(matches!(
            Character::new("a", 5, [10, 10, 10, 10, 10, 0]),
            Err(Error::OutOfRange {
                argument: "charisma",
                ..
            })
        ));
    }

    #[test]
    fn heal_and_damage_are_clamped() {
        let mut c = hero();
        assert_eq!(c.take_damage(5), Ok(15));
        assert_eq!(c.heal(100), Ok(20));
        assert_eq!(c.take_damage(i64::MAX), Ok(0));
        assert!(!c.is_alive());
        assert_eq!(c.heal(3), Ok(3));
        assert!(c.heal(-1).is_err());
        assert_eq!(c.health(), 3);
    }

    #[test]
    fn attacks_follow_the_rules() {
        let attacker = hero();
        for seed in 0..2_000 {
            let mut target = Character::new("Target", 1_000, [10, 18, 10, 10, 10, 10]).unwrap();
            if seed % 2 == 0 {
                target.defend();
            }
            let out = attacker
                .attack(Target::Other(&mut target), &mut DiceRng::seeded(seed))
                .unwrap();
            assert_eq!(
                out.target_armor_class,
                14 + if seed % 2 == 0 { 2 } else { 0 }
            );
            assert_eq!(out.critical, out.natural == 20);
            if out.natural == 1 {
                assert!(!out.hit);
            }
            if out.natural != 1 && out.natural != 20 {
                assert_eq!(out.hit, out.attack_total >= out.target_armor_class);
            }
            let max_damage = if out.critical { 16 + 3 } else { 8 + 3 };
            if out.hit {
                assert!((1..=max_damage).contains(&out.damage));
            } else {
                assert_eq!(out.damage, 0);
            }
            assert_eq!(target.health(), 1_000 - out.damage);
            assert!(!target.is_defending());
        }
    }

    #[test]
    fn to_hit_is_the_stated_rule() {
        for attack_bonus in -5..=10 {
            for armor_class in -10..=40 {
                for natural in 1..=20u32 {
                    let stated = natural == 20
                        || (natural != 1 && natural as i32 + attack_bonus >= armor_class);
                    assert_eq!(
                        to_hit(attack_bonus, armor_class).is_reached_by(natural),
                        stated,
                        "bonus {attack_bonus}, AC {armor_class}, natural {natural}"
                    );
                }
            }
        }
    }

    #[test]
    fn fallen_characters_cannot_fight() {
        let mut a = hero();
        let mut b = hero();
        b.take_damage(100).unwrap();
        assert!(
            a.attack(Target::Other(&mut b), &mut DiceRng::seeded(0))
                .is_err()
        );
        assert!(
            b.attack(Target::Other(&mut a), &mut DiceRng::seeded(0))
                .is_err()
        );
        assert_eq!(a.health(), 20);
    }

    #[test]
    fn a_character_cannot_attack_itself_even_when_fallen() {
        let mut a = hero();
        let refused = a.attack(Target::Itself, &mut DiceRng::seeded(0));
        assert!(
            matches!(refused, Err(Error::InvalidState { message }) if message.contains("itself"))
        );
        a.take_damage(100).unwrap();
        let refused = a.attack(Target::Itself, &mut DiceRng::seeded(0));
        assert!(
            matches!(refused, Err(Error::InvalidState { message }) if message.contains("itself"))
        );
    }

    #[test]
    fn restore_checks_health_against_max() {
        assert!(Character::restore("a", 30, 20, [10; 6], false).is_err());
        assert_eq!(
            Character::restore("a", 0, 20, [10; 6], true)
                .unwrap()
                .health(),
            0
        );
    }
}
