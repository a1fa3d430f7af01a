//! Vehicle identification numbers (ISO 3779; the North American check digit of 49 CFR 565).

use std::fmt;

use serde::Serialize;

/// A 17-character VIN, upper-case, without I, O or Q.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Vin(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VinError {
    #[error("a VIN has 17 characters, this one has {0}")]
    Length(usize),
    #[error("a VIN has only letters and digits, without I, O or Q; found {0:?}")]
    Character(char),
}

impl Vin {
    /// Upper-cases, trims and checks the alphabet. The check digit is not enforced here
    /// (many valid non-North-American VINs fail it); see [`Vin::check_digit_ok`].
    pub fn parse(raw: &str) -> Result<Self, VinError> {
        let value = raw.trim().to_ascii_uppercase();
        let length = value.chars().count();
        if length != 17 {
            return Err(VinError::Length(length));
        }
        if let Some(bad) = value.chars().find(|c| transliterate(*c).is_none()) {
            return Err(VinError::Character(bad));
        }
        Ok(Self(value))
    }

    /// Whether position 9 holds the check digit computed from the other sixteen.
    pub fn check_digit_ok(&self) -> bool {
        check_digit(&self.0) == Some(self.0.as_bytes()[8] as char)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Vin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The check digit for a 17-character VIN (position 9 is ignored), or None when a character
/// is outside the VIN alphabet.
pub fn check_digit(vin: &str) -> Option<char> {
    const WEIGHTS: [u32; 17] = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];
    if vin.len() != 17 {
        return None;
    }
    let mut sum = 0;
    for (position, (c, weight)) in vin.chars().zip(WEIGHTS).enumerate() {
        if position != 8 {
            sum += transliterate(c.to_ascii_uppercase())? * weight;
        }
    }
    Some(match sum % 11 {
        10 => 'X',
        digit => char::from_digit(digit, 10).expect("below 10"),
    })
}

fn transliterate(c: char) -> Option<u32> {
    Some(match c {
        '0'..='9' => c.to_digit(10)?,
        'A' | 'J' => 1,
        'B' | 'K' | 'S' => 2,
        'C' | 'L' | 'T' => 3,
        'D' | 'M' | 'U' => 4,
        'E' | 'N' | 'V' => 5,
        'F' | 'W' => 6,
        'G' | 'P' | 'X' => 7,
        'H' | 'Y' => 8,
        'R' | 'Z' => 9,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_vin_has_a_valid_check_digit() {
        // The worked example of the check-digit algorithm (1M8GDM9A_KP042788 → X).
        let vin = Vin::parse("1m8gdm9axkp042788").unwrap();
        assert_eq!(vin.as_str(), "1M8GDM9AXKP042788");
        assert!(vin.check_digit_ok());
        assert!(!Vin::parse("1M8GDM9A1KP042788").unwrap().check_digit_ok());
    }

    #[test]
    fn bad_vins_say_why() {
        assert_eq!(Vin::parse("1M8GDM9AXKP04278"), Err(VinError::Length(16)));
        assert_eq!(Vin::parse("1M8GDM9AXKP04278O"), Err(VinError::Character('O')));
        assert_eq!(Vin::parse("1M8GDM9AXKP04278-"), Err(VinError::Character('-')));
    }
}
