//! Bindings for `engine::workshop`: the `PyO3` workshop examples (the Python module
//! `game_with_pyo3.pycool`), thread-safe.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use pyo3::prelude::*;

use super::error::IntoPy as _;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyString, PyTuple};

use super::detach::{self, Pair};
use engine::workshop;

/// Sum of the squares of non-negative integers, exact (up to ``2**128 - 1``).
///
/// Raises ``ValueError("Input contains negative numbers")`` on a negative value,
/// ``OverflowError`` when a value or the sum is too large, ``TypeError`` for
/// non-integers.
#[pyfunction]
#[pyo3(signature = (input = Vec::new()), text_signature = "(input=[])")]
pub fn sum_of_squares(input: Vec<i64>) -> PyResult<u128> {
    workshop::sum_of_squares(&input).into_py()
}

/// A point with read/write ``x`` and ``y`` (finite floats). Updates are atomic: a
/// reader never sees half of a ``move_point``.
#[pyclass(frozen, module = "game_with_pyo3.pycool")]
pub struct Point {
    point: Mutex<workshop::Point>,
}

#[pymethods]
impl Point {
    #[new]
    fn new(x: f64, y: f64) -> PyResult<Self> {
        Ok(Self {
            point: Mutex::new(workshop::Point::new(x, y).into_py()?),
        })
    }

    #[getter]
    fn x(&self, py: Python<'_>) -> f64 {
        detach::lock(py, &self.point).x()
    }
    #[setter]
    fn set_x(&self, py: Python<'_>, value: f64) -> PyResult<()> {
        detach::lock(py, &self.point).set_x(value).into_py()
    }
    #[getter]
    fn y(&self, py: Python<'_>) -> f64 {
        detach::lock(py, &self.point).y()
    }
    #[setter]
    fn set_y(&self, py: Python<'_>, value: f64) -> PyResult<()> {
        detach::lock(py, &self.point).set_y(value).into_py()
    }

    /// Euclidean distance from ``(0, 0)``.
    fn distance_from_origin(&self, py: Python<'_>) -> f64 {
        detach::lock(py, &self.point).distance_from_origin()
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let (x, y) = self.__getnewargs__(py);
        format!("Point(x={x:?}, y={y:?})")
    }

    /// Both points are read at one instant; ``p == p`` locks ``p`` once. Anything but a
    /// ``Point`` gets ``NotImplemented``, so Python asks the other operand.
    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> Py<PyAny> {
        self.compared(py, other, |equal| equal)
    }

    /// ``not ==``, and ``NotImplemented`` for anything but a ``Point`` (``PyO3``'s own
    /// ``__ne__`` would answer without asking the other operand).
    fn __ne__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> Py<PyAny> {
        self.compared(py, other, |equal| !equal)
    }

    fn __getnewargs__(&self, py: Python<'_>) -> (f64, f64) {
        let point = detach::lock(py, &self.point);
        (point.x(), point.y())
    }
}

impl Point {
    /// `answer(equal)` as a Python bool when `other` is a `Point` (both read at one
    /// instant, the same point locked once), else `NotImplemented`.
    fn compared(
        &self,
        py: Python<'_>,
        other: &Bound<'_, PyAny>,
        answer: impl FnOnce(bool) -> bool,
    ) -> Py<PyAny> {
        let Ok(other) = other.cast::<Point>() else {
            return py.NotImplemented();
        };
        let equal = match detach::lock_pair(py, &self.point, &other.get().point) {
            // Coordinates are finite, so a point always equals itself.
            Pair::Same(_) => true,
            Pair::Distinct(mine, theirs) => *mine == *theirs,
        };
        PyBool::new(py, answer(equal))
            .to_owned()
            .into_any()
            .unbind()
    }
}

/// Move ``point`` by ``(dx, dy)`` in place, atomically.
#[pyfunction]
pub fn move_point(point: &Bound<'_, Point>, dx: f64, dy: f64) -> PyResult<()> {
    detach::lock(point.py(), &point.get().point)
        .move_by(dx, dy)
        .into_py()
}

/// A counter backed by an atomic integer: exact under any number of threads.
#[pyclass(frozen, module = "game_with_pyo3.pycool")]
pub struct FrozenCounter {
    count: AtomicU64,
}

#[pymethods]
impl FrozenCounter {
    #[new]
    #[pyo3(signature = (value = 0))]
    fn new(value: u64) -> Self {
        Self {
            count: AtomicU64::new(value),
        }
    }

    /// Add one; returns the new value.
    fn increment(&self) -> PyResult<u64> {
        let mut next = Ok(0);
        // The closure may run several times under contention; the last run decides.
        let _ = self
            .count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                next = workshop::increment(n);
                next.as_ref().ok().copied()
            });
        next.into_py()
    }

    fn get(&self) -> u64 {
        self.count.load(Ordering::Acquire)
    }

    fn __repr__(&self) -> String {
        format!("FrozenCounter({})", self.get())
    }

    fn __getnewargs__(&self) -> (u64,) {
        (self.get(),)
    }
}

/// A counter guarded by a lock: exact under any number of threads.
#[pyclass(frozen, module = "game_with_pyo3.pycool")]
pub struct LockCounter {
    count: Mutex<u64>,
}

#[pymethods]
impl LockCounter {
    #[new]
    #[pyo3(signature = (value = 0))]
    fn new(value: u64) -> Self {
        Self {
            count: Mutex::new(value),
        }
    }

    /// Add one; returns the new value.
    fn increment(&self, py: Python<'_>) -> PyResult<u64> {
        let mut count = detach::lock(py, &self.count);
        *count = workshop::increment(*count).into_py()?;
        Ok(*count)
    }

    fn get(&self, py: Python<'_>) -> u64 {
        *detach::lock(py, &self.count)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!("LockCounter({})", self.get(py))
    }

    fn __getnewargs__(&self, py: Python<'_>) -> (u64,) {
        (self.get(py),)
    }
}

/// Configuration built on first use, exactly once even when threads race.
#[pyclass(frozen, module = "game_with_pyo3.pycool")]
pub struct LazyConfig {
    data: PyOnceLock<Py<PyString>>,
    initializations: AtomicUsize,
}

#[pymethods]
impl LazyConfig {
    #[new]
    fn new() -> Self {
        Self {
            data: PyOnceLock::new(),
            initializations: AtomicUsize::new(0),
        }
    }

    /// The configuration data (``"Initialized Data"``), built on the first call.
    fn get_data(&self, py: Python<'_>) -> Py<PyString> {
        self.data
            .get_or_init(py, || {
                self.initializations.fetch_add(1, Ordering::SeqCst);
                PyString::new(py, "Initialized Data").unbind()
            })
            .clone_ref(py)
    }

    /// How many times the data was built: 0 before ``get_data``, then 1 forever.
    #[getter]
    fn initializations(&self) -> usize {
        self.initializations.load(Ordering::SeqCst)
    }

    #[allow(clippy::unused_self)] // Python calls __repr__ on an instance
    fn __repr__(&self) -> &'static str {
        "LazyConfig()"
    }

    /// Pickles as a fresh config: the data is rebuilt, once, on first use.
    #[allow(clippy::unused_self)] // pickle calls it on an instance
    fn __getnewargs__<'py>(&self, py: Python<'py>) -> Bound<'py, PyTuple> {
        PyTuple::empty(py)
    }
}
