//! # bfly-core
//!
//! The core of butterfly-mps: the circuit IR (gates, parameter slots, validated JSON), the
//! Butterfly builder and data loaders, bitstrings of any length, the one error type,
//! atomic file writes, and the progress trait that long calls report into. Every other crate of the workspace builds on it.

#![warn(missing_docs)]

pub mod bits;
pub mod circuit;
pub mod error;
pub mod io;
pub mod progress;

pub use bits::BitString;
pub use error::{Error, Result};
