//! # bfly-studies
//!
//! The studies of butterfly-mps: the clinical imputation study and its imputers,
//! accuracy-vs-χ and scaling sweeps, the standard MPS benchmarks, and plots.

#![warn(missing_docs)]

pub mod bench;
pub mod impute;
pub mod plot;
pub mod study;
pub mod sweep;
