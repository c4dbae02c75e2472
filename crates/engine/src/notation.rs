//! Dice notation: `NdS`, `dS`, `d%`, integer constants, joined by `+`/`-`, with
//! keep/drop suffixes `khN`, `klN`, `dhN`, `dlN`. Letters are case-insensitive and
//! whitespace is allowed between tokens. Errors carry the 0-based character offset.

use std::fmt;

use crate::dice::{DiceRng, MAX_DICE, MAX_SIDES};
use crate::error::{Error, Result};

/// Which dice of a group count towards the total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    All,
    KeepHighest(u32),
    KeepLowest(u32),
    DropHighest(u32),
    DropLowest(u32),
}

/// One term of a parsed expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TermKind {
    Dice {
        count: u32,
        sides: u32,
        percentile: bool,
        selection: Selection,
    },
    Constant(i64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    pub negative: bool,
    pub kind: TermKind,
}

/// A parsed, validated expression, ready to roll any number of times.
#[derive(Debug, PartialEq, Eq)]
pub struct Expression {
    pub terms: Vec<Term>,
}

/// The dice of one group after rolling: every die, and whether it was kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermOutcome {
    pub term: Term,
    pub rolls: Vec<u32>,
    pub kept: Vec<bool>,
    pub value: i64,
}

/// The outcome of rolling an expression.
#[derive(Debug)]
pub struct RollOutcome {
    pub expression: String,
    pub terms: Vec<TermOutcome>,
    pub total: i64,
}

impl fmt::Display for Selection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::All => Ok(()),
            Self::KeepHighest(n) => write!(f, "kh{n}"),
            Self::KeepLowest(n) => write!(f, "kl{n}"),
            Self::DropHighest(n) => write!(f, "dh{n}"),
            Self::DropLowest(n) => write!(f, "dl{n}"),
        }
    }
}

impl fmt::Display for TermKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Dice {
                count,
                percentile: true,
                selection,
                ..
            } => write!(f, "{count}d%{selection}"),
            Self::Dice {
                count,
                sides,
                selection,
                ..
            } => write!(f, "{count}d{sides}{selection}"),
            Self::Constant(value) => write!(f, "{value}"),
        }
    }
}

impl fmt::Display for Expression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, term) in self.terms.iter().enumerate() {
            match (i, term.negative) {
                (0, false) => {}
                (0, true) => f.write_str("-")?,
                (_, false) => f.write_str(" + ")?,
                (_, true) => f.write_str(" - ")?,
            }
            write!(f, "{}", term.kind)?;
        }
        Ok(())
    }
}

impl fmt::Display for RollOutcome {
    /// `4d6kh3 + 2 = [6, 5, 3, (1)] + 2 = 16`; dropped dice are in parentheses.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} = ", self.expression)?;
        for (i, outcome) in self.terms.iter().enumerate() {
            match (i, outcome.term.negative) {
                (0, false) => {}
                (0, true) => f.write_str("-")?,
                (_, false) => f.write_str(" + ")?,
                (_, true) => f.write_str(" - ")?,
            }
            match outcome.term.kind {
                TermKind::Constant(value) => write!(f, "{value}")?,
                TermKind::Dice { .. } => {
                    f.write_str("[")?;
                    for (j, (die, kept)) in outcome.rolls.iter().zip(&outcome.kept).enumerate() {
                        if j > 0 {
                            f.write_str(", ")?;
                        }
                        if *kept {
                            write!(f, "{die}")?;
                        } else {
                            write!(f, "({die})")?;
                        }
                    }
                    f.write_str("]")?;
                }
            }
        }
        write!(f, " = {}", self.total)
    }
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    dice_so_far: u64,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn eat_letter(&mut self, letter: char) -> bool {
        self.skip_whitespace();
        if self.peek().is_some_and(|c| c.eq_ignore_ascii_case(&letter)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn describe_here(&self) -> String {
        self.peek()
            .map_or_else(|| "end of expression".to_owned(), |c| format!("{c:?}"))
    }

    /// Digits at the cursor, if any; refuses numbers past `limit`.
    fn number(&mut self, limit: u64) -> Result<Option<u64>> {
        self.skip_whitespace();
        let start = self.pos;
        let mut value: u64 = 0;
        while let Some(digit) = self.peek().and_then(|c| c.to_digit(10)) {
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(digit)))
                .filter(|&v| v <= limit)
                .ok_or_else(|| Error::notation(start, format!("number is larger than {limit}")))?;
            self.pos += 1;
        }
        Ok((self.pos > start).then_some(value))
    }

    fn selection(&mut self, count: u32) -> Result<Selection> {
        self.skip_whitespace();
        let start = self.pos;
        let keep = match self.peek() {
            Some('k' | 'K') => true,
            Some('d' | 'D') => false,
            _ => return Ok(Selection::All),
        };
        self.pos += 1;
        let highest = if self.eat_letter('h') {
            true
        } else if self.eat_letter('l') {
            false
        } else {
            return Err(Error::notation(
                self.pos,
                format!(
                    "expected 'h' or 'l' after '{}', found {}",
                    self.chars[start],
                    self.describe_here()
                ),
            ));
        };
        let at = self.pos;
        let n = self.number(u64::from(u32::MAX))?.ok_or_else(|| {
            Error::notation(
                at,
                format!(
                    "expected how many dice to keep or drop, found {}",
                    self.describe_here()
                ),
            )
        })? as u32;
        if n > count {
            return Err(Error::notation(
                start,
                format!("cannot keep or drop {n} of {count} dice"),
            ));
        }
        Ok(match (keep, highest) {
            (true, true) => Selection::KeepHighest(n),
            (true, false) => Selection::KeepLowest(n),
            (false, true) => Selection::DropHighest(n),
            (false, false) => Selection::DropLowest(n),
        })
    }

    fn term(&mut self, negative: bool) -> Result<Term> {
        self.skip_whitespace();
        let start = self.pos;
        let number = self.number(i64::MAX.unsigned_abs())?;
        if !self.eat_letter('d') {
            let value = number.ok_or_else(|| {
                Error::notation(
                    start,
                    format!(
                        "expected a number or a dice term, found {}",
                        self.describe_here()
                    ),
                )
            })?;
            return Ok(Term {
                negative,
                kind: TermKind::Constant(value as i64),
            });
        }
        let count = number.unwrap_or(1);
        self.dice_so_far += count;
        if self.dice_so_far > MAX_DICE {
            return Err(Error::notation(
                start,
                format!("too many dice: at most {MAX_DICE} per expression"),
            ));
        }
        let count = count as u32;
        self.skip_whitespace();
        let sides_at = self.pos;
        let (sides, percentile) = if self.peek() == Some('%') {
            self.pos += 1;
            (100, true)
        } else {
            let sides = self.number(u64::MAX)?.ok_or_else(|| {
                Error::notation(
                    sides_at,
                    format!(
                        "expected the number of sides after 'd', found {}",
                        self.describe_here()
                    ),
                )
            })?;
            if sides == 0 || sides > MAX_SIDES {
                return Err(Error::notation(
                    sides_at,
                    format!("sides must be between 1 and {MAX_SIDES}"),
                ));
            }
            (sides as u32, false)
        };
        let selection = self.selection(count)?;
        Ok(Term {
            negative,
            kind: TermKind::Dice {
                count,
                sides,
                percentile,
                selection,
            },
        })
    }
}

impl Expression {
    /// Parse and validate `text`.
    pub fn parse(text: &str) -> Result<Self> {
        let mut parser = Parser {
            chars: text.chars().collect(),
            pos: 0,
            dice_so_far: 0,
        };
        parser.skip_whitespace();
        if parser.peek().is_none() {
            return Err(Error::notation(parser.pos, "empty dice expression"));
        }
        let mut negative = parser.peek() == Some('-');
        if matches!(parser.peek(), Some('+' | '-')) {
            parser.pos += 1;
        }
        let mut terms = Vec::new();
        loop {
            terms.push(parser.term(negative)?);
            parser.skip_whitespace();
            negative = match parser.peek() {
                None => break,
                Some('+') => false,
                Some('-') => true,
                Some(_) => {
                    return Err(Error::notation(
                        parser.pos,
                        format!("expected '+' or '-', found {}", parser.describe_here()),
                    ));
                }
            };
            parser.pos += 1;
        }
        Ok(Self { terms })
    }

    /// Number of dice one roll of this expression throws.
    #[must_use]
    pub fn dice_count(&self) -> u64 {
        self.terms
            .iter()
            .map(|t| match t.kind {
                TermKind::Dice { count, .. } => u64::from(count),
                TermKind::Constant(_) => 0,
            })
            .sum()
    }

    /// Roll every term, left to right, from `rng`.
    pub fn roll(&self, rng: &mut DiceRng) -> Result<RollOutcome> {
        let overflow = || Error::Overflow {
            message: "the total of this expression does not fit in 64 bits".into(),
        };
        let mut total: i64 = 0;
        let mut terms = Vec::with_capacity(self.terms.len());
        for term in &self.terms {
            let (rolls, kept, magnitude) = match term.kind {
                TermKind::Constant(value) => (Vec::new(), Vec::new(), value),
                TermKind::Dice {
                    count,
                    sides,
                    selection,
                    ..
                } => {
                    let rolls = rng.dice(count, sides);
                    let kept = select(&rolls, selection);
                    let sum: i64 = rolls
                        .iter()
                        .zip(&kept)
                        .filter(|(_, k)| **k)
                        .map(|(d, _)| i64::from(*d))
                        .sum();
                    (rolls, kept, sum)
                }
            };
            let value = if term.negative {
                magnitude.checked_neg().ok_or_else(overflow)?
            } else {
                magnitude
            };
            total = total.checked_add(value).ok_or_else(overflow)?;
            terms.push(TermOutcome {
                term: term.clone(),
                rolls,
                kept,
                value,
            });
        }
        Ok(RollOutcome {
            expression: self.to_string(),
            terms,
            total,
        })
    }
}

/// Which dice a selection keeps. Among equal values the earlier die is preferred
/// when keeping and the later one when dropping, so the choice is deterministic.
fn select(rolls: &[u32], selection: Selection) -> Vec<bool> {
    let n = rolls.len();
    let (keep_count, highest) = match selection {
        Selection::All => return vec![true; n],
        Selection::KeepHighest(k) => (k as usize, true),
        Selection::KeepLowest(k) => (k as usize, false),
        Selection::DropHighest(k) => (n - k as usize, false),
        Selection::DropLowest(k) => (n - k as usize, true),
    };
    let mut order: Vec<usize> = (0..n).collect();
    if highest {
        order.sort_by(|&a, &b| rolls[b].cmp(&rolls[a]).then(a.cmp(&b)));
    } else {
        order.sort_by(|&a, &b| rolls[a].cmp(&rolls[b]).then(a.cmp(&b)));
    }
    let mut kept = vec![false; n];
    for &i in &order[..keep_count] {
        kept[i] = true;
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn position_of(text: &str) -> usize {
        match Expression::parse(text) {
            Err(Error::Notation { position, .. }) => position,
            other => panic!("{text:?} parsed as {other:?}"),
        }
    }

    #[test]
    fn parses_and_prints_canonical_form() {
        let cases = [
            ("4d6kh3", "4d6kh3"),
            ("2D20KL1", "2d20kl1"),
            (" d% + 3 ", "1d% + 3"),
            ("1d8 - 2 + d4", "1d8 - 2 + 1d4"),
            ("-1 + 2d6dl1", "-1 + 2d6dl1"),
            ("5d10dh2", "5d10dh2"),
            ("7", "7"),
        ];
        for (input, canonical) in cases {
            assert_eq!(
                Expression::parse(input).unwrap().to_string(),
                canonical,
                "{input}"
            );
        }
    }

    #[test]
    fn errors_point_at_the_problem() {
        assert_eq!(position_of(""), 0);
        assert_eq!(position_of("   "), 3);
        assert_eq!(position_of("4d"), 2);
        assert_eq!(position_of("4d6+"), 4);
        assert_eq!(position_of("4d6 x"), 4);
        assert_eq!(position_of("4d0"), 2);
        assert_eq!(position_of("4d6kx"), 4);
        assert_eq!(position_of("4d6kh"), 5);
        assert_eq!(position_of("2d6kh3"), 3);
        assert_eq!(position_of("1 + 10000001d6"), 4);
        assert_eq!(position_of("1d99999999999999999999999"), 2);
        assert_eq!(position_of("d6 ++ 1"), 4);
    }

    #[test]
    fn keep_and_drop_select_the_right_dice() {
        assert_eq!(
            select(&[3, 6, 1, 6], Selection::KeepHighest(2)),
            [false, true, false, true]
        );
        assert_eq!(
            select(&[3, 6, 1, 6], Selection::KeepLowest(1)),
            [false, false, true, false]
        );
        assert_eq!(
            select(&[3, 6, 1, 6], Selection::DropLowest(1)),
            [true, true, false, true]
        );
        assert_eq!(
            select(&[3, 6, 1, 6], Selection::DropHighest(2)),
            [true, false, true, false]
        );
        assert_eq!(
            select(&[2, 2, 2], Selection::KeepHighest(1)),
            [true, false, false]
        );
    }

    #[test]
    fn total_matches_the_kept_dice() {
        let mut rng = DiceRng::seeded(3);
        let outcome = Expression::parse("4d6kh3 + 2 - 1d4")
            .unwrap()
            .roll(&mut rng)
            .unwrap();
        let first: i64 = outcome.terms[0]
            .rolls
            .iter()
            .zip(&outcome.terms[0].kept)
            .filter(|p| *p.1)
            .map(|p| i64::from(*p.0))
            .sum();
        assert_eq!(
            outcome.total,
            first + 2 - i64::from(outcome.terms[2].rolls[0])
        );
        assert_eq!(outcome.terms[0].kept.iter().filter(|k| **k).count(), 3);
    }

    #[test]
    fn huge_constants_overflow_cleanly() {
        let e = Expression::parse("9223372036854775807 + 1").unwrap();
        assert!(matches!(
            e.roll(&mut DiceRng::seeded(0)),
            Err(Error::Overflow { .. })
        ));
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn term() -> impl Strategy<Value = String> {
        prop_oneof![
            (0u32..1_000_000).prop_map(|n| n.to_string()),
            (0u32..50, 1u32..1_000, 0u8..5, 0u32..50).prop_map(|(count, sides, rule, n)| {
                let n = n.min(count);
                let suffix = ["", "kh", "kl", "dh", "dl"][rule as usize];
                let tail = if suffix.is_empty() {
                    String::new()
                } else {
                    format!("{suffix}{n}")
                };
                format!("{count}d{sides}{tail}")
            }),
            Just("d%".to_owned()),
        ]
    }

    proptest! {
        #[test]
        fn canonical_form_round_trips(terms in prop::collection::vec((term(), any::<bool>()), 1..6)) {
            let text: String = terms.iter().enumerate()
                .map(|(i, (t, minus))| match (i, minus) { (0, _) => t.clone(), (_, true) => format!("-{t}"), _ => format!("+{t}") })
                .collect();
            let parsed = Expression::parse(&text).unwrap();
            let again = Expression::parse(&parsed.to_string()).unwrap();
            prop_assert_eq!(&parsed, &again);
        }

        #[test]
        fn total_is_the_sum_of_kept_dice_and_constants(text in "[0-9]{1,2}d[1-9][0-9]{0,2}(kh|kl|dh|dl)?[0-9]?( [+-] [0-9]{1,3})?", seed: u64) {
            if let Ok(expr) = Expression::parse(&text) {
                let outcome = expr.roll(&mut DiceRng::seeded(seed)).unwrap();
                let sum: i64 = outcome.terms.iter().map(|t| t.value).sum();
                prop_assert_eq!(outcome.total, sum);
                for t in &outcome.terms {
                    if let TermKind::Dice { count, sides, .. } = t.term.kind {
                        prop_assert_eq!(t.rolls.len(), count as usize);
                        prop_assert!(t.rolls.iter().all(|&d| (1..=sides).contains(&d)));
                    }
                }
            }
        }

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,30}") {
            if let Err(Error::Notation { position, .. }) = Expression::parse(&text) {
                prop_assert!(position <= text.chars().count());
            }
        }
    }
}
