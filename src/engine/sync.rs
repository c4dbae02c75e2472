//! Locking two values at once without deadlock: always in address order.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Lock a mutex whose data stays valid whatever a panicking holder left (every update
/// in this crate is a single assignment), so poisoning is not an error.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Lock `first` and `second` (distinct mutexes) in address order, so two threads
/// locking the same pair in opposite roles can never deadlock. The guards come back
/// in argument order.
///
/// # Panics
/// If `first` and `second` are the same mutex (that would deadlock).
pub fn lock_pair<'a, T>(
    first: &'a Mutex<T>,
    second: &'a Mutex<T>,
) -> (MutexGuard<'a, T>, MutexGuard<'a, T>) {
    assert!(
        !std::ptr::eq(first, second),
        "lock_pair needs two distinct mutexes"
    );
    if std::ptr::from_ref(first) < std::ptr::from_ref(second) {
        let a = lock(first);
        let b = lock(second);
        (a, b)
    } else {
        let b = lock(second);
        let a = lock(first);
        (a, b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::character::Character;
    use crate::engine::dice::DiceRng;
    use std::sync::{Arc, Barrier};
    use std::thread;

    #[test]
    fn opposite_attacks_from_many_threads_neither_deadlock_nor_lose_damage() {
        let fighters: Arc<Vec<Mutex<Character>>> = Arc::new(
            (0..4)
                .map(|i| {
                    Mutex::new(
                        Character::new(&format!("F{i}"), 10_000, [14, 10, 10, 10, 10, 10]).unwrap(),
                    )
                })
                .collect(),
        );
        let threads = 8;
        let barrier = Arc::new(Barrier::new(threads));
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (fighters, barrier) = (Arc::clone(&fighters), Arc::clone(&barrier));
                thread::spawn(move || {
                    let mut rng = DiceRng::seeded(t as u64);
                    let mut dealt = 0u64;
                    barrier.wait();
                    // Few enough attacks that nobody falls, so every point of damage shows as health lost.
                    for turn in 0..1_000 {
                        let me = (t + turn) % 4;
                        let other = (me + 1 + turn % 3) % 4;
                        let (attacker, mut target) = lock_pair(&fighters[me], &fighters[other]);
                        if let Ok(out) = attacker.attack(&mut target, &mut rng) {
                            dealt += u64::from(out.damage);
                        }
                    }
                    dealt
                })
            })
            .collect();
        let dealt: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
        let lost: u64 = fighters
            .iter()
            .map(|f| u64::from(10_000 - lock(f).health()))
            .sum();
        assert_eq!(lost, dealt);
    }

    #[test]
    #[should_panic(expected = "two distinct mutexes")]
    fn the_same_mutex_twice_is_refused() {
        let m = Mutex::new(1);
        let _ = lock_pair(&m, &m);
    }
}
