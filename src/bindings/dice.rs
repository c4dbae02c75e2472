//! Bindings for `engine::dice`: `roll_dice` and the shareable `Roller`.

use std::sync::Mutex;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyList, PyTuple, PyType};

use super::notation::Roll;
use super::{detach, restorer};
use crate::engine::dice::{self, DiceRng};
use crate::engine::notation::Expression;
use crate::engine::threads::Threads;

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
    let (count, sides) = dice::check_dice(num_dice, sides)?;
    let threads = Threads::check(threads)?;
    let mut rng = rng_for(seed);
    dice_list(py, count, sides, |packed| {
        detach::run(py, count.into(), || {
            rng.fill_packed_on(sides, packed, threads);
        });
    })
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
    let (count, sides) = dice::check_dice(num_dice, sides)?;
    let threads = Threads::check(threads)?;
    let mut rng = rng_for(seed);
    let width = dice::packed_width(sides);
    let packed = PyBytes::new_with(py, count as usize * width, |packed| {
        detach::run(py, count.into(), || {
            rng.fill_packed_on(sides, packed, threads);
        });
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

/// `count` dice of `sides` sides as a list; `fill` draws them into a packed buffer
/// (`DiceRng::fill_packed`).
///
/// Up to 255 sides a die is a byte, and `list(bytes)` is the cheapest way the stable
/// ABI has to build a list: `CPython`'s own loop, where a list built element by element
/// from here costs two calls into the interpreter per die (`PyList_SetItem` and a
/// reference count). Below [`LIST_FROM_BYTES_FROM`] dice, creating the `bytes` costs
/// more than it saves. Dice above 255 sides are whole `int` objects, whose allocation
/// dwarfs either way of filling the list.
fn dice_list(
    py: Python<'_>,
    count: u32,
    sides: u32,
    fill: impl FnOnce(&mut [u8]),
) -> PyResult<Bound<'_, PyList>> {
    let width = dice::packed_width(sides);
    if width == 1 && count >= LIST_FROM_BYTES_FROM {
        let packed = PyBytes::new_with(py, count as usize, |packed| {
            fill(packed);
            Ok(())
        })?;
        return Ok(py.get_type::<PyList>().call1((packed,))?.cast_into()?);
    }
    let mut packed = vec![0; count as usize * width];
    fill(&mut packed);
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
        let (count, sides) = dice::check_dice(num_dice, sides)?;
        dice_list(py, count, sides, |packed| {
            detach::run_locked(py, &self.rng, count.into(), |rng| {
                rng.fill_packed_on(sides, packed, Threads::Available);
            });
        })
    }

    /// Roll dice notation from this Roller's stream (see ``dnd.roll``).
    fn roll(&self, py: Python<'_>, expression: &str) -> PyResult<Roll> {
        let parsed = Expression::parse(expression)?;
        let dice = parsed.dice_count();
        // The stream is locked only while the dice are drawn, not while the result
        // is written out.
        let outcome = detach::run_locked(py, &self.rng, dice, |rng| parsed.roll(rng))?;
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
