//! The pure parts of the `PyO3` workshop examples.

use crate::error::{Error, Result};

/// Sum of squares, exact: each square fits in 126 bits, and the sum is checked.
pub fn sum_of_squares(values: &[i64]) -> Result<u128> {
    if values.iter().any(|&v| v < 0) {
        return Err(Error::NegativeInput);
    }
    values.iter().try_fold(0u128, |acc, &v| {
        let v = u128::from(v.unsigned_abs());
        acc.checked_add(v * v).ok_or_else(|| Error::Overflow {
            message: "sum of squares does not fit in 128 bits".into(),
        })
    })
}

/// The next value of a counter, which stops at `2**64 - 1` rather than wrapping.
pub fn increment(count: u64) -> Result<u64> {
    count.checked_add(1).ok_or_else(|| Error::Overflow {
        message: "counter would exceed 2**64 - 1".into(),
    })
}

/// A point whose coordinates are always finite.
#[derive(Debug, PartialEq)]
pub struct Point {
    x: f64,
    y: f64,
}

fn finite(argument: &'static str, value: f64) -> Result<f64> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(Error::out_of_range(
            argument,
            format!("must be finite, got {value}"),
        ))
    }
}

impl Point {
    pub fn new(x: f64, y: f64) -> Result<Self> {
        Ok(Self {
            x: finite("x", x)?,
            y: finite("y", y)?,
        })
    }

    #[must_use]
    pub fn x(&self) -> f64 {
        self.x
    }

    #[must_use]
    pub fn y(&self) -> f64 {
        self.y
    }

    pub fn set_x(&mut self, x: f64) -> Result<()> {
        self.x = finite("x", x)?;
        Ok(())
    }

    pub fn set_y(&mut self, y: f64) -> Result<()> {
        self.y = finite("y", y)?;
        Ok(())
    }

    /// Move by `(dx, dy)`. The offsets and the result must be finite; a refused move
    /// changes nothing.
    pub fn move_by(&mut self, dx: f64, dy: f64) -> Result<()> {
        let (dx, dy) = (finite("dx", dx)?, finite("dy", dy)?);
        *self = Self {
            x: finite("x", self.x + dx)?,
            y: finite("y", self.y + dy)?,
        };
        Ok(())
    }

    /// Euclidean distance from the origin, without intermediate overflow.
    #[must_use]
    pub fn distance_from_origin(&self) -> f64 {
        self.x.hypot(self.y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_for_large_values() {
        let big = i64::MAX;
        let expected = u128::from(big.unsigned_abs()).pow(2) * 2;
        assert_eq!(sum_of_squares(&[big, big]), Ok(expected));
        assert_eq!(sum_of_squares(&[]), Ok(0));
        assert_eq!(sum_of_squares(&[1, 2, 3]), Ok(14));
    }

    #[test]
    fn negatives_and_overflow_are_refused() {
        assert_eq!(sum_of_squares(&[1, -2]), Err(Error::NegativeInput));
        let many = vec![i64::MAX; 5];
        assert!(matches!(sum_of_squares(&many), Err(Error::Overflow { .. })));
    }

    #[test]
    fn distance_does_not_overflow() {
        let distance = |x, y| Point::new(x, y).unwrap().distance_from_origin();
        assert!((distance(3.0, 4.0) - 5.0).abs() < 1e-12);
        assert!(distance(1e300, 1e300).is_finite());
    }

    fn refused<T: std::fmt::Debug>(result: Result<T>, argument: &str) {
        assert!(
            matches!(&result, Err(Error::OutOfRange { argument: a, .. }) if *a == argument),
            "{result:?}"
        );
    }

    #[test]
    fn points_stay_finite_and_refused_moves_change_nothing() {
        refused(Point::new(f64::NAN, 0.0), "x");
        refused(Point::new(0.0, f64::INFINITY), "y");
        let mut p = Point::new(1.0, 2.0).unwrap();
        refused(p.set_y(f64::NEG_INFINITY), "y");
        refused(p.move_by(f64::NAN, 0.0), "dx");
        refused(p.move_by(0.0, f64::INFINITY), "dy");
        let mut far = Point::new(1.7e308, 0.0).unwrap();
        refused(far.move_by(1.7e308, 0.0), "x");
        assert_eq!(far, Point::new(1.7e308, 0.0).unwrap());
        assert_eq!(p, Point::new(1.0, 2.0).unwrap());
        p.move_by(1.5, -2.0).unwrap();
        assert_eq!((p.x(), p.y()), (2.5, 0.0));
        assert_eq!(
            Point::new(f64::NAN, 0.0).unwrap_err().to_string(),
            "x must be finite, got NaN"
        );
    }

    #[test]
    fn counters_stop_at_the_top() {
        assert_eq!(increment(0), Ok(1));
        assert!(matches!(increment(u64::MAX), Err(Error::Overflow { .. })));
    }
}
