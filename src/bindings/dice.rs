//! Bindings for `engine::dice`: `roll_dice` and the shareable `Roller`.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, PoisonError};
use std::thread;

use pyo3::exceptions::PyMemoryError;
use pyo3::intern;
use pyo3::prelude::*;

use super::error::IntoPy as _;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyList, PyTuple, PyType};

use super::notation::Roll;
use super::{detach, restorer};
use engine::dice::{self, DiceRng};
use engine::error::Error;
use engine::notation::Expression;
use engine::threads::Threads;

pub(crate) fn rng_for(seed: Option<u64>) -> DiceRng {
    seed.map_or_else(DiceRng::from_entropy, DiceRng::seeded)
}

/// Roll ``num_dice`` dice with ``sides`` sides each; every value is in ``1..=sides``.
///
/// ``sides`` may be up to ``2**31 - 1``; at most 10,000,000 dice per call. With
/// ``seed`` (``0 <= seed < 2**64``) the result is the same on every run, release and
/// platform, and for any ``threads``: big rolls are drawn on up to ``threads`` threads
/// (default: the available cores, at most 256). Raises ``ValueError`` for out-of-range
/// arguments. For many dice, ``roll_dice_array`` returns the same dice without a
/// Python object per die.
#[pyfunction]
#[pyo3(signature = (num_dice, sides, *, seed = None, threads = None))]
pub fn roll_dice(
    py: Python<'_>,
    num_dice: i64,
    sides: i64,
    seed: Option<u64>,
    threads: Option<i64>,
) -> PyResult<Bound<'_, PyList>> {
    let (count, sides) = dice::check_dice(num_dice, sides).into_py()?;
    let threads = Threads::check(threads).into_py()?;
    dice_list(py, count, sides, threads, Stream::Own(rng_for(seed)))
}

/// Roll ``num_dice`` dice with ``sides`` sides each, as an ``array.array``.
///
/// The same dice as ``roll_dice`` with the same arguments and ``seed``, in the
/// narrowest unsigned type that holds ``sides``: typecode ``'B'`` (one byte per die)
/// up to 255 sides, ``'H'`` up to 65,535, else ``'I'``. Big rolls are drawn without
/// holding the interpreter, on up to ``threads`` threads (default: the available
/// cores, at most 256; the dice do not depend on it). The array exposes the buffer
/// protocol: ``numpy.asarray(a)`` and ``numpy.frombuffer(a, dtype=a.typecode)`` wrap it
/// without a copy. Limits and exceptions are those of ``roll_dice``.
#[pyfunction]
#[pyo3(signature = (num_dice, sides, *, seed = None, threads = None))]
pub fn roll_dice_array(
    py: Python<'_>,
    num_dice: i64,
    sides: i64,
    seed: Option<u64>,
    threads: Option<i64>,
) -> PyResult<Bound<'_, PyAny>> {
    static ARRAY: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    let (count, sides) = dice::check_dice(num_dice, sides).into_py()?;
    let threads = Threads::check(threads).into_py()?;
    let mut stream = Stream::Own(rng_for(seed));
    let width = dice::packed_width(sides);
    let packed = PyBytes::new_with(py, count as usize * width, |packed| {
        stream.fill(py, sides, packed, threads);
        Ok(())
    })?;
    // `array(typecode, bytes)` copies the bytes once, with memcpy: the stable ABI
    // (3.10) has no way to write into an array's own buffer.
    let typecode = match width {
        1 => "B",
        2 => "H",
        _ => "I",
    };
    ARRAY
        .import(py, "array", "array")?
        .call1((typecode, packed))
}

/// Rolls of this many dice or more with at most 255 sides build their list from bytes.
const LIST_FROM_BYTES_FROM: u32 = 256;

/// Rolls of this many dice or more with at most 255 sides, allowed two threads or more,
/// are drawn on a helper thread while the list is built ([`list_drawn_ahead`]).
const DRAW_AHEAD_FROM: u32 = 1 << 16;

/// Dice per piece that [`list_drawn_ahead`]'s helper hands over: 16 KB, which stays in
/// the cache between the helper writing it and the list reading it.
const AHEAD_PIECE: usize = 1 << 14;

/// Where a roll's dice come from: a stream of the call's own, or a Roller's, which
/// other threads share.
enum Stream<'a> {
    Own(DiceRng),
    Shared(&'a Mutex<DiceRng>),
}

impl Stream<'_> {
    /// Fill `packed` with dice of `sides` sides, on up to `threads` threads; big rolls
    /// detached (a Roller's stream locked as [`detach::run_locked`] locks it).
    fn fill(&mut self, py: Python<'_>, sides: u32, packed: &mut [u8], threads: Threads) {
        let dice = (packed.len() / dice::packed_width(sides)) as u64;
        match self {
            Self::Own(rng) => detach::run(py, dice, || rng.fill_packed_on(sides, packed, threads)),
            Self::Shared(rng) => detach::run_locked(py, rng, dice, |rng| {
                rng.fill_packed_on(sides, packed, threads);
            }),
        }
    }

    /// Run `work` on the stream from a thread that is not attached to the interpreter
    /// (`list_drawn_ahead`'s helper): a Roller's is locked for the whole of it, and
    /// waiting for that lock blocks, which only a thread that never attaches may do.
    fn off_interpreter<T>(&mut self, work: impl FnOnce(&mut DiceRng) -> T) -> T {
        match self {
            Self::Own(rng) => work(rng),
            Self::Shared(rng) => work(&mut rng.lock().unwrap_or_else(PoisonError::into_inner)),
        }
    }
}

/// `count` dice of `sides` sides from `stream` as a list, drawn on up to `threads`
/// threads.
///
/// Up to 255 sides a die is a byte, and `list.extend(bytes)` is the cheapest way the
/// stable ABI has to fill a list: `CPython`'s own loop, where a list built element by
/// element from here costs two calls into the interpreter per die (`PyList_SetItem`
/// and a reference count). Big rolls of such dice are drawn a piece ahead of the list
/// ([`list_drawn_ahead`]); with one thread, below [`DRAW_AHEAD_FROM`] dice, or when no
/// helper thread can be started, they are drawn first and listed with `list(bytes)`.
/// Below [`LIST_FROM_BYTES_FROM`] dice, creating the `bytes` costs more than it saves.
/// Dice above 255 sides are whole `int` objects, whose allocation dwarfs either way of
/// filling the list.
fn dice_list<'py>(
    py: Python<'py>,
    count: u32,
    sides: u32,
    threads: Threads,
    mut stream: Stream<'_>,
) -> PyResult<Bound<'py, PyList>> {
    let width = dice::packed_width(sides);
    if width == 1 && count >= DRAW_AHEAD_FROM && threads.count() >= 2 {
        if let Some(list) = list_drawn_ahead(py, &mut stream, count, sides) {
            return list;
        }
    }
    if width == 1 && count >= LIST_FROM_BYTES_FROM {
        let packed = PyBytes::new_with(py, count as usize, |packed| {
            stream.fill(py, sides, packed, threads);
            Ok(())
        })?;
        return Ok(py.get_type::<PyList>().call1((packed,))?.cast_into()?);
    }
    let mut packed = vec![0; count as usize * width];
    stream.fill(py, sides, &mut packed, threads);
    match width {
        1 => PyList::new(py, packed),
        2 => PyList::new(
            py,
            packed
                .chunks_exact(2)
                .map(|die| u16::from_ne_bytes([die[0], die[1]])),
        ),
        _ => PyList::new(
            py,
            packed
                .chunks_exact(4)
                .map(|die| u32::from_ne_bytes([die[0], die[1], die[2], die[3]])),
        ),
    }
}

/// `count` dice of at most 255 sides as a list, drawn from `stream` on a helper thread
/// while this one builds the list, or `None` if the helper cannot be started.
///
/// The helper draws the roll a piece ([`AHEAD_PIECE`] dice) at a time into one buffer
/// and hands each piece over as soon as it is drawn ([`Handover`]); this thread extends
/// the list with it, so drawing costs only the wait for the first piece instead of a
/// pass of its own (measured on two cores: 1.1-1.3x the cost of `list(bytes(n))`, where
/// drawing first cost 1.4-1.5x on two threads and 1.7x on one). Consecutive pieces of
/// one stream are the dice one call would draw, so the roll is the same as any other
/// way of drawing it, and the stream is left after the last die even if building the
/// list fails.
///
/// The helper, which never attaches, is what locks a Roller's stream, and only while it
/// draws: this thread runs Python code while it builds the list (an allocation can run
/// the garbage collector, and a finaliser can roll on the same Roller), so it must not
/// hold the lock. Waiting for a piece, or for the helper to end, detaches.
fn list_drawn_ahead<'py>(
    py: Python<'py>,
    stream: &mut Stream<'_>,
    count: u32,
    sides: u32,
) -> Option<PyResult<Bound<'py, PyList>>> {
    let list = PyList::empty(py);
    let extend = match list.getattr(intern!(py, "extend")) {
        Ok(extend) => extend,
        Err(err) => return Some(Err(err)),
    };
    let count = count as usize;
    // The helper allocates the buffer, in its own malloc arena (glibc gives each thread
    // one): allocated on this thread, it sat at the top of the heap where the list's item
    // array grows, so the array moved at every growth step and the heap grew by 15 MB and
    // was trimmed back on every call (strace); page faults on its fresh pages took nearly
    // half of this thread's time in a loop of million-die rolls.
    let mut drawn = Vec::new();
    let handover = Handover::default();
    thread::scope(|scope| {
        let drawn = &mut drawn;
        let handover = &handover;
        let helper = thread::Builder::new()
            .name("roll_dice ahead".into())
            .spawn_scoped(scope, move || {
                let _finish = handover.finish_on_exit();
                // Out of memory, nothing is drawn and the join below says so.
                drawn.try_reserve_exact(count).ok()?;
                drawn.resize(count, 0);
                stream.off_interpreter(|rng| {
                    for piece in drawn.chunks_mut(AHEAD_PIECE) {
                        rng.fill_packed(sides, piece);
                        handover.give(piece);
                    }
                });
                Some(())
            })
            .ok()?;
        let mut listed = Ok(());
        // Until every piece the helper handed over is taken and it has finished; if it
        // panicked (a bug), the join below says so as an internal error.
        while let Some(piece) = handover.take(py) {
            listed = extend.call1((PyBytes::new(py, piece),)).map(drop);
            if listed.is_err() {
                // The helper draws on, to leave the stream where the roll ends.
                break;
            }
        }
        match py.detach(|| helper.join()) {
            Ok(Some(())) => Some(listed.map(|()| list)),
            Ok(None) => Some(Err(PyMemoryError::new_err(format!(
                "no memory for a buffer of {count} dice"
            )))),
            Err(panic) => Some(Err(super::error::to_py(Error::from_panic(
                "the roll_dice helper",
                &*panic,
            )))),
        }
    })
}

/// The pieces [`list_drawn_ahead`]'s helper has drawn and the list has not yet taken.
/// The helper never waits for the list, and wakes it only when it waits for a piece.
#[derive(Default)]
struct Handover<'a> {
    state: Mutex<Pieces<'a>>,
    ready: Condvar,
}

#[derive(Default)]
struct Pieces<'a> {
    /// Drawn and not yet taken, in order.
    drawn: VecDeque<&'a [u8]>,
    /// The helper has ended: no piece will follow those in `drawn`.
    finished: bool,
    /// The list's thread is waiting for a piece, and must be woken for the next.
    waiting: bool,
}

impl<'a> Handover<'a> {
    /// Hand a drawn piece over (the helper).
    fn give(&self, piece: &'a [u8]) {
        self.update(|pieces| pieces.drawn.push_back(piece));
    }

    /// A guard that marks the helper finished when dropped, even by a panic, so the
    /// list never waits for a piece that will not come.
    fn finish_on_exit(&self) -> impl Drop + '_ {
        struct Finish<'h, 'a>(&'h Handover<'a>);
        impl Drop for Finish<'_, '_> {
            fn drop(&mut self) {
                self.0.update(|pieces| pieces.finished = true);
            }
        }
        Finish(self)
    }

    fn update(&self, change: impl FnOnce(&mut Pieces<'a>)) {
        let mut pieces = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        change(&mut pieces);
        if pieces.waiting {
            self.ready.notify_one();
        }
    }

    /// The next piece, in order, or `None` once the helper has finished and every piece
    /// is taken. The lock is only tried while attached (the helper holds it for a
    /// moment at a time); waiting for it, or for a piece, detaches.
    fn take(&self, py: Python<'_>) -> Option<&'a [u8]> {
        if let Ok(mut pieces) = self.state.try_lock() {
            if let Some(piece) = pieces.drawn.pop_front() {
                return Some(piece);
            }
        }
        py.detach(|| {
            let mut pieces = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            loop {
                if let Some(piece) = pieces.drawn.pop_front() {
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

/// A seedable source of dice that threads can share.
///
/// Two Rollers created with the same ``seed`` produce the same sequence of results,
/// so a game can be replayed. Without a seed the stream is seeded from the operating
/// system. Calls from several threads are serialised; each call sees a consistent
/// stream. Pickling and copying keep the stream's position.
#[pyclass(frozen, module = "game_with_pyo3.dnd")]
pub struct Roller {
    seed: Option<u64>,
    pub(crate) rng: Mutex<DiceRng>,
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
    fn roll_dice<'py>(
        &self,
        py: Python<'py>,
        num_dice: i64,
        sides: i64,
    ) -> PyResult<Bound<'py, PyList>> {
        let (count, sides) = dice::check_dice(num_dice, sides).into_py()?;
        dice_list(
            py,
            count,
            sides,
            Threads::Available,
            Stream::Shared(&self.rng),
        )
    }

    /// Roll dice notation from this Roller's stream (see ``dnd.roll``).
    fn roll(&self, py: Python<'_>, expression: &str) -> PyResult<Roll> {
        let parsed = Expression::parse(expression).into_py()?;
        let dice = parsed.dice_count();
        // The stream is locked only while the dice are drawn, not while the result
        // is written out.
        let outcome = detach::run_locked(py, &self.rng, dice, |rng| parsed.roll(rng)).into_py()?;
        Ok(detach::run(py, dice, || Roll::from(outcome)))
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
        let state = detach::lock(slf.py(), &this.rng).state();
        let args = (this.seed, state).into_pyobject(slf.py())?;
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
