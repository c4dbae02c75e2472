//! The one thread policy of the engine, for duels and dice alike.
//!
//! - **How many.** `threads=N` is [`Threads`]: at most N threads draw dice or run
//!   trials; the default is the available cores. A roll or a duel is split only where
//!   each part pays for starting its thread.
//! - **Where none can start.** A thread the system will not start ([`start`] gives
//!   `None`: Pyodide has no threads, a process may be capped) leaves its work to the
//!   calling thread, with the same result: every part of a job draws from a stream
//!   fixed by the job, not by the thread that runs it.
//! - **The host.** Whoever calls the engine says, through [`Host`], how to wait and how
//!   to run long work: the Python bindings let the interpreter's other threads run
//!   meanwhile and never block on a lock while attached to it; Rust callers pass
//!   [`Plain`]. Work that grows with the number of dice is released above
//!   [`RELEASE_ABOVE_DICE`] dice.
//! - **A panic** in a thread of the engine (a bug) ends as [`Error::Internal`], never
//!   as an unwind into the caller.

use std::collections::VecDeque;
use std::num::NonZeroUsize;
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::{self, Scope, ScopedJoinHandle};

use crate::error::{Error, Result};

/// Most threads one call may ask for.
pub const MAX_THREADS: i64 = 256;

/// A checked thread count: what the caller asked for, or the available cores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threads {
    /// The available cores, at most [`MAX_THREADS`].
    Available,
    /// Exactly this many, in `1..=MAX_THREADS`.
    Exactly(NonZeroUsize),
}

impl Threads {
    /// `threads` checked against `1..=MAX_THREADS`; `None` is [`Threads::Available`].
    pub fn check(threads: Option<i64>) -> Result<Self> {
        match threads {
            None => Ok(Self::Available),
            Some(n) if (1..=MAX_THREADS).contains(&n) => Ok(Self::Exactly(
                NonZeroUsize::new(n as usize).unwrap_or(NonZeroUsize::MIN),
            )),
            Some(n) => Err(Error::out_of_range(
                "threads",
                format!("must be between 1 and {MAX_THREADS}, got {n}"),
            )),
        }
    }

    /// How many threads that is. The available cores are asked of the system once per
    /// process, by the first big job: the answer reads the CPU affinity and the cgroup's
    /// CPU limit (files under `/proc` and `/sys` on Linux), about 50 microseconds here,
    /// a fifth of a 65,536-die roll. A process that changes its affinity afterwards,
    /// or a forked child given fewer cores than its parent read, passes `threads`
    /// explicitly.
    #[must_use]
    pub fn count(self) -> usize {
        static AVAILABLE: OnceLock<usize> = OnceLock::new();
        match self {
            Self::Exactly(n) => n.get(),
            Self::Available => *AVAILABLE.get_or_init(|| {
                thread::available_parallelism()
                    .map_or(1, NonZeroUsize::get)
                    .min(MAX_THREADS as usize)
            }),
        }
    }
}

/// Above this many dice, work runs released from the host ([`Host::run`]); below it,
/// releasing and taking the host back costs more than the work.
pub const RELEASE_ABOVE_DICE: u64 = 4_096;

/// What the engine needs from its caller's runtime around work that waits or runs long.
pub trait Host {
    /// Run `work`, which may wait (for a lock, a thread, a piece) or run long, letting
    /// the host's other threads run meanwhile.
    fn release<T: Send>(&self, work: impl Send + FnOnce() -> T) -> T;

    /// Lock `mutex` for work that follows on this thread. The wait, if any, must not hold
    /// the host up: whoever holds the lock may need the host before it lets go.
    fn lock<'a, T>(&self, mutex: &'a Mutex<T>) -> MutexGuard<'a, T>;

    /// Run `work`, which handles `dice` dice, released if it is big.
    fn run<T: Send>(&self, dice: u64, work: impl Send + FnOnce() -> T) -> T {
        if dice > RELEASE_ABOVE_DICE {
            self.release(work)
        } else {
            work()
        }
    }
}

/// The host of a plain Rust caller: nothing to release.
#[derive(Debug, Clone, Copy, Default)]
pub struct Plain;

impl Host for Plain {
    fn release<T: Send>(&self, work: impl Send + FnOnce() -> T) -> T {
        work()
    }

    fn lock<'a, T>(&self, mutex: &'a Mutex<T>) -> MutexGuard<'a, T> {
        lock(mutex)
    }
}

/// Lock `mutex`, blocking. Poisoning is ignored: the engine validates before it mutates
/// and nothing under its locks panics, so whatever state a holder leaves is valid.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `work` on a thread of its own in `scope`, or `None` if the system will not start
/// one: the caller then does that work itself (the module's policy).
pub fn start<'scope, T: Send + 'scope>(
    scope: &'scope Scope<'scope, '_>,
    name: &str,
    work: impl FnOnce() -> T + Send + 'scope,
) -> Option<ScopedJoinHandle<'scope, T>> {
    thread::Builder::new()
        .name(name.into())
        .spawn_scoped(scope, work)
        .ok()
}

/// Pieces of a job that one thread hands to another in order, as they are made: the
/// maker never waits, and wakes the taker only when it waits for a piece.
#[derive(Debug)]
pub struct Handover<P> {
    state: Mutex<Pieces<P>>,
    ready: Condvar,
}

#[derive(Debug)]
struct Pieces<P> {
    made: VecDeque<P>,
    /// The maker has ended: no piece will follow those in `made`.
    finished: bool,
    /// The taker waits for a piece and must be woken for the next.
    waiting: bool,
}

impl<P: Send> Default for Handover<P> {
    fn default() -> Self {
        Self {
            state: Mutex::new(Pieces {
                made: VecDeque::new(),
                finished: false,
                waiting: false,
            }),
            ready: Condvar::new(),
        }
    }
}

impl<P: Send> Handover<P> {
    /// Hand a piece over (the maker).
    pub fn give(&self, piece: P) {
        self.update(|pieces| pieces.made.push_back(piece));
    }

    /// A guard that marks the maker finished when dropped, even by a panic, so the taker
    /// never waits for a piece that will not come.
    pub fn finish_on_exit(&self) -> impl Drop + '_ {
        struct Finish<'h, P: Send>(&'h Handover<P>);
        impl<P: Send> Drop for Finish<'_, P> {
            fn drop(&mut self) {
                self.0.update(|pieces| pieces.finished = true);
            }
        }
        Finish(self)
    }

    fn update(&self, change: impl FnOnce(&mut Pieces<P>)) {
        let mut pieces = lock(&self.state);
        change(&mut pieces);
        if pieces.waiting {
            self.ready.notify_one();
        }
    }

    /// The next piece, in order, or `None` once the maker has finished and every piece
    /// is taken. The lock is only tried on the host (the maker holds it for a moment at
    /// a time); waiting for it, or for a piece, is released.
    pub fn take(&self, host: &impl Host) -> Option<P> {
        if let Ok(mut pieces) = self.state.try_lock() {
            if let Some(piece) = pieces.made.pop_front() {
                return Some(piece);
            }
        }
        host.release(|| {
            let mut pieces = lock(&self.state);
            loop {
                if let Some(piece) = pieces.made.pop_front() {
                    pieces.waiting = false;
                    return Some(piece);
                }
                if pieces.finished {
                    return None;
                }
                pieces.waiting = true;
                pieces = self
                    .ready
                    .wait(pieces)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_checked_and_the_default_is_the_available_cores() {
        assert_eq!(Threads::check(None), Ok(Threads::Available));
        assert!((1..=MAX_THREADS as usize).contains(&Threads::Available.count()));
        for n in [1, 2, 7, MAX_THREADS] {
            assert_eq!(Threads::check(Some(n)).map(Threads::count), Ok(n as usize));
        }
        for n in [0, -1, MAX_THREADS + 1, i64::MIN, i64::MAX] {
            assert!(matches!(
                Threads::check(Some(n)),
                Err(Error::OutOfRange {
                    argument: "threads",
                    ..
                })
            ));
        }
    }
}
