//! Monte Carlo duels, split over threads without changing the result.
//!
//! Trial `i` draws from `DiceRng::for_task(seed, i)`, so which thread runs it does
//! not matter: the same seed gives the same statistics for any thread count.

use std::collections::BTreeMap;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::character::{Ability, Character, swing, to_hit};
use crate::dice::{DiceRng, Reach};
use crate::error::{Error, Result};
use crate::threads::{self, Threads};

pub const MAX_TRIALS: i64 = 100_000_000;

/// How often workers look at the cancel flag, in trials.
const CANCEL_CHECK_EVERY: u64 = 256;
/// How often the coordinating thread calls the caller's `poll`.
const POLL_INTERVAL: Duration = Duration::from_millis(20);
/// Trials the calling thread runs between polls when it does a worker's share itself:
/// as often as a worker looks at the cancel flag.
const CALLER_SLICE: u64 = CANCEL_CHECK_EVERY;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct DuelStats {
    pub trials: u64,
    pub wins_a: u64,
    pub wins_b: u64,
    pub total_rounds: u64,
    /// rounds -> number of duels that lasted that many rounds
    pub rounds: BTreeMap<u32, u64>,
}

impl DuelStats {
    #[must_use]
    pub fn mean_rounds(&self) -> f64 {
        if self.trials == 0 {
            0.0
        } else {
            self.total_rounds as f64 / self.trials as f64
        }
    }

    fn merge(&mut self, other: Self) {
        self.trials += other.trials;
        self.wins_a += other.wins_a;
        self.wins_b += other.wins_b;
        self.total_rounds += other.total_rounds;
        for (rounds, count) in other.rounds {
            *self.rounds.entry(rounds).or_default() += count;
        }
    }
}

/// One side of a duel: its health and its attacks on the other side, worked out once
/// per simulation. Copied per trial, where copying a `Character` would clone (allocate)
/// its name. Stances play no part: duels start without one and nobody defends.
#[derive(Debug, Clone, Copy)]
struct Fighter {
    health: u32,
    attack_bonus: i32,
    /// What this side's d20 must reach to hit the other (see `character::to_hit`).
    to_hit: Reach,
}

impl Fighter {
    fn against(attacker: &Character, target: &Character) -> Self {
        let attack_bonus = attacker.modifier(Ability::Strength);
        Self {
            health: attacker.health(),
            attack_bonus,
            to_hit: to_hit(attack_bonus, target.armor_class()),
        }
    }

    #[inline]
    fn strike(&self, target: &mut Self, rng: &mut DiceRng) {
        let damage = swing(self.attack_bonus, self.to_hit, rng).damage;
        target.health = target.health.saturating_sub(damage);
    }
}

/// Everything a trial needs from the two characters, read once per simulation.
#[derive(Debug, Clone, Copy)]
struct Matchup {
    a: Fighter,
    b: Fighter,
    initiative_a: i32,
    initiative_b: i32,
    /// DEX decides initiative ties.
    dexterity: std::cmp::Ordering,
}

impl Matchup {
    fn new(a: &Character, b: &Character) -> Self {
        Self {
            a: Fighter::against(a, b),
            b: Fighter::against(b, a),
            initiative_a: a.modifier(Ability::Dexterity),
            initiative_b: b.modifier(Ability::Dexterity),
            dexterity: a
                .score(Ability::Dexterity)
                .cmp(&b.score(Ability::Dexterity)),
        }
    }
}

/// One duel in progress.
#[derive(Debug)]
struct Bout {
    rng: DiceRng,
    first: Fighter,
    second: Fighter,
    a_first: bool,
    rounds: u32,
}

impl Bout {
    /// Trial `trial`, on its own stream: both roll initiative (d20 + DEX modifier; ties
    /// go to the higher DEX, then a coin flip).
    #[inline]
    fn start(matchup: &Matchup, seed: u64, trial: u64) -> Self {
        let mut rng = DiceRng::for_task(seed, trial);
        let initiative_a = rng.die(20) as i32 + matchup.initiative_a;
        let initiative_b = rng.die(20) as i32 + matchup.initiative_b;
        let a_first = match initiative_a.cmp(&initiative_b).then(matchup.dexterity) {
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Less => false,
            std::cmp::Ordering::Equal => rng.die(2) == 1,
        };
        // Indexed, not `if`: who goes first is a coin flip to the processor.
        let sides = [matchup.b, matchup.a];
        let (first, second) = (sides[usize::from(a_first)], sides[usize::from(!a_first)]);
        Self {
            rng,
            first,
            second,
            a_first,
            rounds: 0,
        }
    }

    /// Fight to the fall; returns whether `a` won and the number of rounds (one attack
    /// by each side, the last round possibly cut short by a fall).
    #[inline]
    fn fight(mut self) -> (bool, u32) {
        loop {
            self.rounds = self.rounds.saturating_add(1);
            self.first.strike(&mut self.second, &mut self.rng);
            if self.second.health == 0 {
                return (self.a_first, self.rounds);
            }
            self.second.strike(&mut self.first, &mut self.rng);
            if self.first.health == 0 {
                return (!self.a_first, self.rounds);
            }
        }
    }
}

/// Duel lengths below this are counted in an array, longer ones in the map: a
/// `BTreeMap` update per trial cost more than a short duel's dice.
const DENSE_ROUNDS: usize = 256;

struct Tally {
    stats: DuelStats,
    dense: Vec<u64>,
}

impl Tally {
    fn new() -> Self {
        Self {
            stats: DuelStats::default(),
            dense: vec![0; DENSE_ROUNDS],
        }
    }

    fn record(&mut self, a_won: bool, rounds: u32) {
        self.stats.trials += 1;
        self.stats.wins_a += u64::from(a_won);
        self.stats.total_rounds += u64::from(rounds);
        match self.dense.get_mut(rounds as usize) {
            Some(count) => *count += 1,
            None => *self.stats.rounds.entry(rounds).or_default() += 1,
        }
    }

    fn finish(mut self) -> DuelStats {
        self.stats.wins_b = self.stats.trials - self.stats.wins_a;
        for (rounds, &count) in (0u32..).zip(&self.dense) {
            if count > 0 {
                self.stats.rounds.insert(rounds, count);
            }
        }
        self.stats
    }
}

fn run_range<H: Fn(u64) + Sync + ?Sized>(
    a: &Character,
    b: &Character,
    seed: u64,
    range: std::ops::Range<u64>,
    cancel: &AtomicBool,
    before_trial: &H,
) -> Option<DuelStats> {
    let matchup = Matchup::new(a, b);
    let mut tally = Tally::new();
    // Each trial starts (its stream seeded, initiative rolled) while the one before is
    // fought: a trial's start does not wait on the trial before, but when it came after
    // that trial's last, mispredicted, branch, it was on the critical path of every one.
    let mut upcoming = Bout::start(&matchup, seed, range.start);
    for trial in range {
        if trial % CANCEL_CHECK_EVERY == 0 && cancel.load(Ordering::Relaxed) {
            return None;
        }
        before_trial(trial);
        let bout = std::mem::replace(&mut upcoming, Bout::start(&matchup, seed, trial + 1));
        let (a_won, rounds) = bout.fight();
        tally.record(a_won, rounds);
    }
    Some(tally.finish())
}

/// Validate duel arguments; returns `(trials, threads)`.
fn check_duel(
    a: &Character,
    b: &Character,
    trials: i64,
    threads: Option<i64>,
) -> Result<(u64, usize)> {
    if !(1..=MAX_TRIALS).contains(&trials) {
        return Err(Error::out_of_range(
            "trials",
            format!("must be between 1 and {MAX_TRIALS}, got {trials}"),
        ));
    }
    let threads = Threads::check(threads)?;
    for c in [a, b] {
        if !c.is_alive() {
            return Err(Error::InvalidState {
                message: format!("{} has fallen and cannot duel", c.name()),
            });
        }
    }
    Ok((trials as u64, threads.count()))
}

/// Run `trials` duels between copies of `a` and `b` on `threads` threads (default:
/// the available cores, at most `threads::MAX_THREADS`).
///
/// `poll` is called from the calling thread about every 20 ms while workers run;
/// returning `true` cancels the simulation (`Error::Cancelled`). A worker that panics
/// (a bug) stops the others and makes the result `Error::Internal`, never a
/// cancellation.
pub fn simulate_duel(
    a: &Character,
    b: &Character,
    trials: i64,
    seed: u64,
    threads: Option<i64>,
    poll: &mut dyn FnMut() -> bool,
) -> Result<DuelStats> {
    // A closure type, not `dyn Fn`: the empty hook then costs nothing per trial.
    simulate(a, b, trials, seed, threads, poll, &|_: u64| {})
}

/// [`simulate_duel`], calling `before_trial(i)` in the worker thread before trial `i`.
/// Only tests use the hook: it is how they make a worker panic.
pub fn simulate_duel_with_hook(
    a: &Character,
    b: &Character,
    trials: i64,
    seed: u64,
    threads: Option<i64>,
    poll: &mut dyn FnMut() -> bool,
    before_trial: &(dyn Fn(u64) + Sync),
) -> Result<DuelStats> {
    simulate(a, b, trials, seed, threads, poll, before_trial)
}

fn simulate<H: Fn(u64) + Sync + ?Sized>(
    a: &Character,
    b: &Character,
    trials: i64,
    seed: u64,
    threads: Option<i64>,
    poll: &mut dyn FnMut() -> bool,
    before_trial: &H,
) -> Result<DuelStats> {
    let (trials, threads) = check_duel(a, b, trials, threads)?;
    let workers = threads.min(usize::try_from(trials).unwrap_or(usize::MAX));
    let cancel = AtomicBool::new(false);
    let mut cancelled_by_poll = false;
    let finished = AtomicUsize::new(0);
    let caller = thread::current();
    let per_worker = trials.div_ceil(workers as u64);
    let results: Vec<thread::Result<Option<DuelStats>>> = thread::scope(|scope| {
        let mut unstarted = Vec::new();
        let handles: Vec<_> = (0..workers as u64)
            .filter_map(|w| {
                let range = (w * per_worker).min(trials)..((w + 1) * per_worker).min(trials);
                let (cancel, finished, caller) = (&cancel, &finished, &caller);
                let work = range.clone();
                let spawned = threads::start(scope, "simulate_duel", move || {
                    // Caught here, not at `join`, so a panicking worker still counts
                    // as finished (the loop below waits for every worker) and stops
                    // the others at once.
                    let out = panic::catch_unwind(AssertUnwindSafe(|| {
                        run_range(a, b, seed, work, cancel, before_trial)
                    }));
                    if out.is_err() {
                        cancel.store(true, Ordering::Relaxed);
                    }
                    finished.fetch_add(1, Ordering::Release);
                    caller.unpark();
                    out
                });
                if spawned.is_none() {
                    unstarted.push(range);
                }
                spawned
            })
            .collect();
        // A worker the system would not start (no threads or memory left): this thread
        // runs its trials itself, a slice at a time, merged as it goes, and still polls
        // between slices. The statistics are the same, since trial `i` draws from its own
        // stream.
        let mut here = DuelStats::default();
        let mut here_outcome: thread::Result<bool> = Ok(true);
        let mut polled = Instant::now();
        'unstarted: for range in unstarted {
            let mut first = range.start;
            while first < range.end {
                if cancel.load(Ordering::Relaxed) {
                    here_outcome = Ok(false);
                    break 'unstarted;
                }
                let slice = first..(first + CALLER_SLICE).min(range.end);
                first = slice.end;
                match panic::catch_unwind(AssertUnwindSafe(|| {
                    run_range(a, b, seed, slice, &cancel, before_trial)
                })) {
                    Ok(Some(stats)) => here.merge(stats),
                    Ok(None) => {
                        here_outcome = Ok(false);
                        break 'unstarted;
                    }
                    Err(payload) => {
                        cancel.store(true, Ordering::Relaxed);
                        here_outcome = Err(payload);
                        break 'unstarted;
                    }
                }
                if polled.elapsed() >= POLL_INTERVAL {
                    polled = Instant::now();
                    if !cancel.load(Ordering::Relaxed) && poll() {
                        cancelled_by_poll = true;
                        cancel.store(true, Ordering::Relaxed);
                    }
                }
            }
        }
        while finished.load(Ordering::Acquire) < handles.len() {
            thread::park_timeout(POLL_INTERVAL);
            if !cancel.load(Ordering::Relaxed) && poll() {
                cancelled_by_poll = true;
                cancel.store(true, Ordering::Relaxed);
            }
        }
        let here = here_outcome.map(|finished| finished.then_some(here));
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(Err))
            .chain(std::iter::once(here))
            .collect()
    });
    let mut total = DuelStats::default();
    let mut stopped = false;
    for part in results {
        match part {
            Err(payload) => {
                return Err(Error::from_panic("a duel worker", &*payload));
            }
            Ok(Some(stats)) => total.merge(stats),
            Ok(None) => stopped = true,
        }
    }
    if cancelled_by_poll || stopped {
        return Err(Error::Cancelled);
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (Character, Character) {
        (
            Character::new("Fighter", 30, [16, 12, 14, 10, 10, 10]).unwrap(),
            Character::new("Rogue", 24, [10, 18, 12, 10, 10, 10]).unwrap(),
        )
    }

    #[test]
    fn same_seed_same_result_for_any_thread_count() {
        let (a, b) = pair();
        let one = simulate_duel(&a, &b, 2_001, 9, Some(1), &mut || false).unwrap();
        for threads in [Some(2), Some(3), Some(7), Some(64), None] {
            assert_eq!(
                simulate_duel(&a, &b, 2_001, 9, threads, &mut || false).unwrap(),
                one
            );
        }
        assert_eq!(one.wins_a + one.wins_b, 2_001);
        assert_eq!(one.rounds.values().sum::<u64>(), 2_001);
        assert_ne!(
            simulate_duel(&a, &b, 2_001, 10, Some(2), &mut || false).unwrap(),
            one
        );
    }

    #[test]
    fn stronger_fighter_usually_wins() {
        let strong = Character::new("Ogre", 200, [20, 10, 10, 10, 10, 10]).unwrap();
        let weak = Character::new("Kobold", 5, [6, 10, 10, 10, 10, 10]).unwrap();
        let stats = simulate_duel(&strong, &weak, 500, 1, Some(2), &mut || false).unwrap();
        assert!(stats.wins_a > 490, "{stats:?}");
    }

    #[test]
    fn cancel_stops_the_workers() {
        let slow = Character::new("Wall", 10_000, [1, 1, 10, 10, 10, 10]).unwrap();
        let start = Instant::now();
        let result = simulate_duel(&slow, &slow, MAX_TRIALS, 0, Some(2), &mut || true);
        assert_eq!(result, Err(Error::Cancelled));
        assert!(start.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn a_panicking_worker_is_an_internal_error_and_stops_the_others() {
        let slow = Character::new("Wall", 10_000, [1, 1, 10, 10, 10, 10]).unwrap();
        let start = Instant::now();
        let fault = |trial: u64| assert!(trial != 3, "injected fault at trial {trial}");
        let result =
            simulate_duel_with_hook(&slow, &slow, MAX_TRIALS, 0, Some(2), &mut || false, &fault);
        match result {
            Err(Error::Internal { message }) => {
                assert!(message.contains("injected fault at trial 3"), "{message}");
            }
            other => panic!("a panicking worker gave {other:?}"),
        }
        assert!(start.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn arguments_are_checked() {
        let (a, mut b) = pair();
        assert!(matches!(
            check_duel(&a, &b, 0, Some(1)),
            Err(Error::OutOfRange {
                argument: "trials",
                ..
            })
        ));
        assert!(matches!(
            check_duel(&a, &b, 1, Some(0)),
            Err(Error::OutOfRange {
                argument: "threads",
                ..
            })
        ));
        b.take_damage(1_000).unwrap();
        assert!(matches!(
            check_duel(&a, &b, 1, Some(1)),
            Err(Error::InvalidState { .. })
        ));
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn thread_count_never_changes_the_result(seed: u64, trials in 1i64..400, threads in 2i64..9, health in 1i64..40) {
            let a = Character::new("A", health, [14, 12, 10, 10, 10, 10]).unwrap();
            let b = Character::new("B", 20, [12, 15, 10, 10, 10, 10]).unwrap();
            let one = simulate_duel(&a, &b, trials, seed, Some(1), &mut || false).unwrap();
            let many = simulate_duel(&a, &b, trials, seed, Some(threads), &mut || false).unwrap();
            prop_assert_eq!(one.wins_a + one.wins_b, trials as u64);
            prop_assert_eq!(one, many);
        }
    }
}
