//! The pure parts of the `PyO3` workshop examples.

use super::error::{Error, Result};

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

/// Euclidean distance of `(x, y)` from the origin, without intermediate overflow.
#[must_use]
pub fn distance_from_origin(x: f64, y: f64) -> f64 {
    x.hypot(y)
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
        assert!((distance_from_origin(3.0, 4.0) - 5.0).abs() < 1e-12);
        assert!(distance_from_origin(1e300, 1e300).is_finite());
    }
}
