//! How many threads a big job may use: one rule for duels and dice.

use std::num::NonZeroUsize;
use std::sync::OnceLock;
use std::thread;

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
