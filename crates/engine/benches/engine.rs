//! The engine's speed, each figure beside its floor: what the random stream alone costs
//! for the same draws. `benchmarks/README.md` keeps the figures of a run and how close
//! to its floor each is.
//!
//! ```console
//! cargo bench -p game-with-pyo3-engine --bench engine          # measure
//! cargo test --all-targets                                     # run each once (CI)
//! ```

use std::sync::OnceLock;

use divan::counter::ItemsCount;
use divan::{Bencher, black_box};
use game_with_pyo3_engine::character::{Ability, Character, Target};
use game_with_pyo3_engine::dice::{self, DiceRng, Reach, Stream};
use game_with_pyo3_engine::duel;
use game_with_pyo3_engine::threads::{Plain, Threads};

fn main() {
    divan::main();
}

/// A list- or array-sized roll: `roll_dice(1_000_000, 20)`.
const DICE: usize = 1_000_000;
/// A duel of `benchmarks/bench.py`: 100,000 trials on one thread.
const TRIALS: u64 = 100_000;

fn threads(n: usize) -> Threads {
    Threads::Exactly(n.try_into().unwrap())
}

/// The floor of a die of at most 255 sides: one raw draw of the stream (Lemire's
/// mapping almost never rejects one).
#[divan::bench]
fn floor_raw_draw(bencher: Bencher) {
    bencher.counter(ItemsCount::new(DICE)).bench_local(|| {
        let mut rng = DiceRng::seeded(1);
        (0..DICE).fold(0u32, |acc, _| acc ^ rng.next_u32())
    });
}

/// What `roll_dice_array(1_000_000, 20, threads=n)` asks of the engine.
#[divan::bench(args = [1, 2])]
fn dice_array(bencher: Bencher, n: usize) {
    let mut out = vec![0u8; DICE];
    bencher.counter(ItemsCount::new(DICE)).bench_local(|| {
        let mut stream = Stream::Own(DiceRng::seeded(1));
        dice::roll_packed(&mut stream, 20, &mut out, threads(n), &Plain);
        black_box(&out);
    });
}

/// What `roll_dice(1_000_000, 20)` asks of the engine with two threads: the dice drawn
/// ahead on a thread of their own and handed over a piece at a time. (With one thread
/// the list is built from a buffer drawn as `dice_array` draws it.)
#[divan::bench]
fn dice_list_ahead(bencher: Bencher) {
    bencher.counter(ItemsCount::new(DICE)).bench_local(|| {
        let mut stream = Stream::Own(DiceRng::seeded(1));
        dice::roll_bytes(&mut stream, DICE as u32, 20, threads(2), &Plain, |piece| {
            black_box(piece);
            Ok::<(), ()>(())
        })
    });
}

fn matchup() -> (Character, Character) {
    (
        Character::new("A", 30, [16, 12, 10, 10, 10, 10]).unwrap(),
        Character::new("B", 24, [10, 18, 10, 10, 10, 10]).unwrap(),
    )
}

/// `simulate_duel(a, b, trials=100_000, threads=1)` per trial.
#[divan::bench(sample_count = 30)]
fn duel_trial(bencher: Bencher) {
    let (a, b) = matchup();
    bencher.counter(ItemsCount::new(TRIALS)).bench_local(|| {
        duel::simulate_duel(&a, &b, TRIALS as i64, 1, Some(1), &mut || false).unwrap()
    });
}

/// The throughput floor of those trials: as many raw draws as they make, in one
/// stream, none waiting on another.
#[divan::bench(sample_count = 30)]
fn floor_duel_draws(bencher: Bencher) {
    let (draws, _) = replayed();
    bencher.counter(ItemsCount::new(TRIALS)).bench_local(|| {
        let mut rng = DiceRng::seeded(1);
        (0..draws).fold(0u32, |acc, _| acc ^ rng.next_u32())
    });
}

/// The floor of those trials' attacks: as many attacks' dice as they make, each a die
/// whose value decides where the next one is drawn (a coin flip drawing a second die,
/// as a hit draws its damage; `DiceRng::attack_dice`), with no rules around them.
#[divan::bench(sample_count = 30)]
fn floor_duel_chain(bencher: Bencher) {
    let (_, attacks) = replayed();
    let coin = [Reach::new(2, 2)];
    bencher.counter(ItemsCount::new(TRIALS)).bench_local(|| {
        let mut rng = DiceRng::seeded(1);
        (0..attacks).fold(0u32, |acc, _| acc ^ rng.attack_dice(2, &coin, 2).2)
    });
}

/// [`replay_duel`] of `duel_trial`'s trials, once per process.
fn replayed() -> (u64, u64) {
    static REPLAYED: OnceLock<(u64, u64)> = OnceLock::new();
    *REPLAYED.get_or_init(|| {
        let (a, b) = matchup();
        replay_duel(&a, &b, 1, TRIALS)
    })
}

/// The raw draws and the attacks `trials` duels make, counted on a replay of the
/// duel's rules (see `engine::duel`) that must give the same statistics.
fn replay_duel(a: &Character, b: &Character, seed: u64, trials: u64) -> (u64, u64) {
    let (mut draws, mut attacks, mut wins_a, mut total_rounds) = (0, 0, 0, 0);
    for trial in 0..trials {
        let start = DiceRng::for_task(seed, trial);
        let mut rng = start.clone();
        let initiative_a = rng.die(20) as i32 + a.modifier(Ability::Dexterity);
        let initiative_b = rng.die(20) as i32 + b.modifier(Ability::Dexterity);
        let dexterity = a
            .score(Ability::Dexterity)
            .cmp(&b.score(Ability::Dexterity));
        let a_first = match initiative_a.cmp(&initiative_b).then(dexterity) {
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Less => false,
            std::cmp::Ordering::Equal => rng.die(2) == 1,
        };
        let (mut first, mut second) = if a_first {
            (a.clone(), b.clone())
        } else {
            (b.clone(), a.clone())
        };
        let mut rounds = 0u64;
        let first_won = loop {
            rounds += 1;
            attacks += 1;
            first.attack(Target::Other(&mut second), &mut rng).unwrap();
            if !second.is_alive() {
                break true;
            }
            attacks += 1;
            second.attack(Target::Other(&mut first), &mut rng).unwrap();
            if !first.is_alive() {
                break false;
            }
        };
        wins_a += u64::from(first_won == a_first);
        total_rounds += rounds;
        let mut replay = start;
        while replay.state() != rng.state() {
            replay.next_u32();
            draws += 1;
        }
    }
    let stats = duel::simulate_duel(a, b, trials as i64, seed, Some(1), &mut || false).unwrap();
    assert_eq!(
        (stats.wins_a, stats.total_rounds),
        (wins_a, total_rounds),
        "the replay does not follow the duel's rules"
    );
    eprintln!(
        "\n(a duel trial: {:.2} raw draws, {:.2} attacks)",
        draws as f64 / trials as f64,
        attacks as f64 / trials as f64
    );
    (draws, attacks)
}
