//! Bindings for `engine::dice`: `roll_dice`, `roll_dice_array` and the shareable
//! `Roller`. Each checks its arguments, makes one call into the engine (which owns the
//! threads and the locking of a Roller's stream) and turns the dice into Python objects.

use std::sync::Mutex;

use engine::dice::{self, DiceRng, Stream};
use engine::notation::Expression;
use engine::threads::{Host as _, Threads};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyList, PyMemoryView, PyTuple, PyType};

use super::detach::{self, Detach};
use super::error::IntoPy as _;
use super::notation::Roll;
use super::restorer;

pub(crate) fn rng_for(seed: Option<u64>) -> DiceRng {
    seed.map_or_else(DiceRng::from_entropy, DiceRng::seeded)
}

/// Roll ``num_dice`` dice with ``sides`` sides each; every value is in ``1..=sides``.
///
/// ``sides`` may be up to ``2**31 - 1``; at most 10,000,000 dice per call. With
/// ``seed`` (``0 <= seed < 2**64``) the result is the same on every run, release and
/// platform, and for any ``threads``: big rolls are drawn on up to ``threads`` threads
/// (default: the available cores, at most 256). A big roll of dice with at most 255
/// sides is drawn by one thread while the calling thread builds the list, which is the
/// slower part, if ``threads`` is 2 or more. Raises ``ValueError`` for out-of-range
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
/// up to 255 sides, ``'H'`` up to 65,535, else ``'I'``. The dice are drawn straight
/// into the array's memory, big rolls without holding the interpreter and on up to
/// ``threads`` threads (default: the available cores, at most 256; the dice do not
/// depend on it). The array exposes the buffer protocol: ``numpy.asarray(a)`` and
/// ``numpy.frombuffer(a, dtype=a.typecode)`` wrap it without a copy. Limits and
/// exceptions are those of ``roll_dice``.
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
    let width = dice::packed_width(sides);
    let typecode = ["B", "H", "I"][width / 2];
    // Zeros at the final size in one allocation (`array * n` repeats with memcpy).
    let array = ARRAY
        .import(py, "array", "array")?
        .call1((typecode, (0,)))?
        .mul(count)?;
    // While a memoryview exports its buffer, the array refuses to resize (BufferError),
    // so the address below stays valid even if another thread found the array (through
    // `gc.get_objects()`: nothing else holds it yet).
    let export = PyMemoryView::from(&array)?;
    let (address, items): (usize, usize) = array.call_method0("buffer_info")?.extract()?;
    if items > 0 {
        let len = items * width;
        // SAFETY: `buffer_info` gives the address and length (in items of `width` bytes)
        // of the array's buffer, which the export above pins and no one else writes:
        // the array was made here and has not been handed to any Python code.
        #[allow(unsafe_code)]
        let out = unsafe { std::slice::from_raw_parts_mut(address as *mut u8, len) };
        dice::roll_packed(
            &mut Stream::Own(rng_for(seed)),
            sides,
            out,
            threads,
            &Detach(py),
        );
    }
    export.call_method0("release")?;
    Ok(array)
}

/// Rolls of this many dice or more with at most 255 sides build their list from bytes.
const LIST_FROM_BYTES_FROM: u32 = 256;

/// `count` dice of `sides` sides from `stream` as a list, drawn on up to `threads`
/// threads.
///
/// Up to 255 sides a die is a byte, and `list.extend(bytes)` is the cheapest way the
/// stable ABI has to fill a list: `CPython`'s own loop, where a list built element by
/// element from here costs two calls into the interpreter per die (`PyList_SetItem`
/// and a reference count). Big rolls of such dice are drawn ahead on a thread of the
/// engine's own while this one builds the list (`engine::dice::roll_bytes`); others
/// are drawn first and listed with `list(bytes)`.
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
    if width == 1 && count >= LIST_FROM_BYTES_FROM {
        let list = PyList::empty(py);
        let extend = list.getattr(pyo3::intern!(py, "extend"))?;
        let extend_by = |piece: &[u8]| extend.call1((PyBytes::new(py, piece),)).map(drop);
        if let Some(listed) =
            dice::roll_bytes(&mut stream, count, sides, threads, &Detach(py), extend_by)
        {
            listed.into_py()??;
            return Ok(list);
        }
        // Not drawn ahead: drawn into a `bytes` object's own memory, and listed by
        // `list(bytes)`, which sizes the list once.
        let packed = PyBytes::new_with(py, count as usize, |packed| {
            dice::roll_packed(&mut stream, sides, packed, threads, &Detach(py));
            Ok(())
        })?;
        return Ok(py.get_type::<PyList>().call1((packed,))?.cast_into()?);
    }
    let mut packed = vec![0; count as usize * width];
    dice::roll_packed(&mut stream, sides, &mut packed, threads, &Detach(py));
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
        let host = Detach(py);
        let outcome = Stream::Shared(&self.rng)
            .draw(&host, dice, |rng| parsed.roll(rng))
            .into_py()?;
        Ok(host.run(dice, || Roll::from(outcome)))
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
