//! # bfly-core
//!
//! The core of butterfly-mps: the circuit IR (gates, parameter slots, validated JSON), the
//! Butterfly builder and data loaders, bitstrings of any length, the one error type,
//! atomic file writes, the resource budget ([`budget`]) checked before large allocations, the progress trait that long calls report into, and the shared random
//! draws ([`sampling`]). Every other crate of the workspace builds on it.

#![warn(missing_docs)]

pub mod bits;
pub mod budget;
pub mod circuit;
pub mod error;
pub mod io;
pub mod progress;
pub mod sampling;

pub use bits::BitString;
pub use error::{Error, Result};
