//! Bitstrings of any length (no 64-qubit limit).
//!
//! Text form: character `i` is qubit `i`, so `"100"` means qubit 0 reads 1. (IonQ's
//! result keys are decimal integers with qubit 0 as the *least* significant bit; see
//! [`BitString::from_index`].)

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// A computational basis state of `len` qubits, packed 64 per word.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BitString {
    len: usize,
    words: Vec<u64>,
}

impl BitString {
    /// All zeros.
    pub fn zeros(len: usize) -> Self {
        BitString {
            len,
            words: vec![0; len.div_ceil(64)],
        }
    }

    /// The state with exactly the listed qubits set.
    pub fn from_ones(len: usize, ones: &[usize]) -> Result<Self> {
        let mut b = Self::zeros(len);
        for &q in ones {
            if q >= len {
                return Err(Error::InvalidInput(format!(
                    "qubit {q} is out of range for a {len}-qubit bitstring"
                )));
            }
            b.set(q, true);
        }
        Ok(b)
    }

    /// From a basis-state index with qubit 0 as the least significant bit (`len ≤ 64`).
    pub fn from_index(len: usize, index: u64) -> Self {
        let mut b = Self::zeros(len);
        for q in 0..len.min(64) {
            b.set(q, (index >> q) & 1 == 1);
        }
        b
    }

    /// Basis-state index with qubit 0 as the least significant bit, if `len ≤ 64`.
    pub fn to_index(&self) -> Option<u64> {
        (self.len <= 64).then(|| self.words.first().copied().unwrap_or(0))
    }

    /// Number of qubits.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for a zero-qubit string.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Value of qubit `q`.
    pub fn get(&self, q: usize) -> bool {
        assert!(q < self.len, "qubit {q} out of range ({} qubits)", self.len);
        (self.words[q / 64] >> (q % 64)) & 1 == 1
    }

    /// Set qubit `q`.
    pub fn set(&mut self, q: usize, value: bool) {
        assert!(q < self.len, "qubit {q} out of range ({} qubits)", self.len);
        let mask = 1u64 << (q % 64);
        if value {
            self.words[q / 64] |= mask;
        } else {
            self.words[q / 64] &= !mask;
        }
    }

    /// Hamming weight.
    pub fn count_ones(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Indices of the qubits that read 1, ascending.
    pub fn ones(&self) -> Vec<usize> {
        (0..self.len).filter(|&q| self.get(q)).collect()
    }
}

impl fmt::Display for BitString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for q in 0..self.len {
            f.write_str(if self.get(q) { "1" } else { "0" })?;
        }
        Ok(())
    }
}

impl FromStr for BitString {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let mut b = Self::zeros(s.len());
        for (q, ch) in s.chars().enumerate() {
            match ch {
                '0' => {}
                '1' => b.set(q, true),
                other => {
                    return Err(Error::InvalidInput(format!(
                        "bitstring \"{s}\": character {q} is '{other}', expected 0 or 1"
                    )))
                }
            }
        }
        Ok(b)
    }
}

impl Serialize for BitString {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for BitString {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}
