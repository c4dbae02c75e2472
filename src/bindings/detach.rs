//! The bindings' side of the engine's thread policy (`engine::threads`): how they
//! wait while attached to the interpreter, and in which order they lock two objects.
//! Every lock on an object's state that a thread attached to the interpreter takes in
//! `bindings` goes through this module; the engine takes a Roller's lock through
//! [`Detach`], the host it is handed.
//!
//! 1. **Detach for big work.** The engine releases its host ([`Detach`]) around work
//!    that grows with the number of dice once it exceeds
//!    `engine::threads::RELEASE_ABOVE_DICE` dice, so other Python threads run
//!    meanwhile; below that, detaching and re-attaching costs more than the work. What
//!    needs the interpreter stays attached: building `roll_dice`'s list from the dice
//!    the engine hands over (it draws big rolls of small dice ahead on a thread of its
//!    own, which never attaches, and detaches whenever the list's thread waits for it).
//!    `simulate_duel` always detaches (`bindings::duel`).
//! 2. **No Python code under a lock.** Nothing runs Python code, allocates a Python
//!    object or drops one while holding an object's lock: on `CPython` 3.10 and 3.11 an
//!    allocation can run the garbage collector, and dropping an object can run its
//!    finaliser, which may call into the same object and wait for ever for a lock its
//!    own thread holds. So a Roller's lock is held while dice are drawn, and results
//!    and errors become Python objects after it is released. This also relies on the
//!    bindings never dropping a Python object while detached: `PyO3` would release such
//!    an object when the thread re-attaches, which [`lock`] does while holding the
//!    lock it waited for.
//! 3. **Never block on a lock while attached.** A lock is tried first; only if another
//!    thread holds it does the caller detach, wait, and re-attach holding it
//!    ([`lock`]). A Roller's lock can be held for a whole 10-million-die roll, and a
//!    character's while its holder waits, detached, for a second lock. A thread that
//!    waited for such a lock while attached would hold the GIL (on free-threaded
//!    builds: hold up every stop-the-world pause) until the holder finished, so every
//!    other Python thread would stall; and when the holder needed to re-attach while
//!    still holding the lock, the two would deadlock.
//! 4. **Two objects, one order.** Two objects of one class are locked in address
//!    order, and the same object on both sides is locked once ([`lock_pair`]), so
//!    `p == p` cannot lock one mutex twice and `a == b` in one thread cannot deadlock
//!    with `b == a` in another. The only lock ever taken before a pair is a Roller's
//!    (`Character.attack`: roller, then attacker and target), and nothing locks a
//!    Roller while holding a character, so there is no cycle.
//!
//! Poisoning is ignored: the engine validates before it mutates and nothing under
//! these locks panics, so whatever state a holder leaves is a valid one.

use std::sync::{Mutex, MutexGuard, PoisonError};

use engine::threads::Host;
use pyo3::prelude::*;
use pyo3::sync::MutexExt;

/// The engine's host for a thread attached to the interpreter: long work and waits run
/// detached (`Python::detach`), and a lock is waited for as [`lock`] waits.
pub(crate) struct Detach<'py>(pub(crate) Python<'py>);

impl Host for Detach<'_> {
    fn release<T: Send>(&self, work: impl Send + FnOnce() -> T) -> T {
        self.0.detach(work)
    }

    fn lock<'a, T>(&self, mutex: &'a Mutex<T>) -> MutexGuard<'a, T> {
        lock(self.0, mutex)
    }
}

/// Lock `mutex` without ever blocking while attached: try it, and if another thread
/// holds it, detach until it is free (`pyo3::sync::MutexExt::lock_py_attached`).
pub(crate) fn lock<'a, T>(py: Python<'_>, mutex: &'a Mutex<T>) -> MutexGuard<'a, T> {
    mutex
        .lock_py_attached(py)
        .unwrap_or_else(PoisonError::into_inner)
}

/// Two objects locked together (see [`lock_pair`]).
pub(crate) enum Pair<'a, T> {
    /// Both sides are the same object, locked once.
    Same(MutexGuard<'a, T>),
    /// Two objects; the guards are in argument order, whatever order they were taken in.
    Distinct(MutexGuard<'a, T>, MutexGuard<'a, T>),
}

/// Lock `first` and `second` together: in address order, each with [`lock`], and only
/// once if they are the same mutex.
pub(crate) fn lock_pair<'a, T>(
    py: Python<'_>,
    first: &'a Mutex<T>,
    second: &'a Mutex<T>,
) -> Pair<'a, T> {
    if std::ptr::eq(first, second) {
        return Pair::Same(lock(py, first));
    }
    if std::ptr::from_ref(first) < std::ptr::from_ref(second) {
        let a = lock(py, first);
        let b = lock(py, second);
        Pair::Distinct(a, b)
    } else {
        let b = lock(py, second);
        let a = lock(py, first);
        Pair::Distinct(a, b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::sync::{Arc, Barrier};
    use std::thread;
    use std::time::Duration;

    const PATIENCE: Duration = Duration::from_secs(30);

    #[test]
    fn the_same_mutex_twice_is_locked_once() {
        Python::initialize();
        let m = Mutex::new(1);
        Python::attach(|py| {
            let Pair::Same(mut guard) = lock_pair(py, &m, &m) else {
                panic!("one mutex on both sides is not Same");
            };
            *guard += 1;
        });
        assert_eq!(*m.lock().unwrap(), 2);
    }

    #[test]
    fn guards_come_back_in_argument_order() {
        Python::initialize();
        let (left, right) = (Mutex::new("left"), Mutex::new("right"));
        Python::attach(|py| {
            let Pair::Distinct(a, b) = lock_pair(py, &left, &right) else {
                panic!("two mutexes are not Distinct");
            };
            assert_eq!((*a, *b), ("left", "right"));
            drop((a, b));
            let Pair::Distinct(a, b) = lock_pair(py, &right, &left) else {
                panic!("two mutexes are not Distinct");
            };
            assert_eq!((*a, *b), ("right", "left"));
        });
    }

    /// Transfers between four accounts, each thread locking pairs in both orders (and
    /// sometimes one account against itself), all released together by a barrier. A
    /// deadlock would hang the test, so it waits with a timeout and fails instead.
    #[test]
    fn opposite_pairs_from_many_threads_neither_deadlock_nor_lose_updates() {
        Python::initialize();
        let accounts: Arc<Vec<Mutex<i64>>> = Arc::new((0..4).map(|_| Mutex::new(1_000)).collect());
        let threads = 8;
        let barrier = Arc::new(Barrier::new(threads));
        let (done, finished) = mpsc::channel();
        for t in 0..threads {
            let (accounts, barrier, done) =
                (Arc::clone(&accounts), Arc::clone(&barrier), done.clone());
            thread::spawn(move || {
                barrier.wait();
                for turn in 0..2_000 {
                    let from = (t + turn) % 4;
                    let to = if turn % 7 == 0 {
                        from
                    } else {
                        (from + 1 + turn % 3) % 4
                    };
                    Python::attach(|py| match lock_pair(py, &accounts[from], &accounts[to]) {
                        Pair::Same(mut only) => *only += 0,
                        Pair::Distinct(mut a, mut b) => {
                            *a -= 1;
                            *b += 1;
                        }
                    });
                }
                done.send(()).unwrap();
            });
        }
        for _ in 0..threads {
            finished
                .recv_timeout(PATIENCE)
                .expect("a thread locking pairs in opposite orders deadlocked");
        }
        let total: i64 = accounts.iter().map(|a| *a.lock().unwrap()).sum();
        assert_eq!(total, 4_000);
    }

    /// A thread that finds a lock taken must let go of the interpreter while it waits,
    /// or no other thread could attach until the lock was free.
    #[test]
    fn a_waiting_thread_lets_others_attach() {
        Python::initialize();
        let mutex = Arc::new(Mutex::new(0));
        let held = mutex.lock().unwrap();
        let waiter = {
            let mutex = Arc::clone(&mutex);
            thread::spawn(move || Python::attach(|py| *lock(py, &mutex) += 1))
        };
        // Give the waiter time to attach and start waiting for the lock.
        thread::sleep(Duration::from_millis(200));
        let (attached, attach_result) = mpsc::channel();
        thread::spawn(move || {
            Python::attach(|_| attached.send(()).unwrap());
        });
        let other_thread_attached = attach_result.recv_timeout(Duration::from_secs(10)).is_ok();
        drop(held);
        waiter.join().unwrap();
        assert!(
            other_thread_attached,
            "a thread waiting for a lock kept the interpreter"
        );
        assert_eq!(*mutex.lock().unwrap(), 1);
    }
}
