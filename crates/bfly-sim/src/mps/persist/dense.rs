//! The dense engine's side of the state files ([`super`]): its site tensors ↔
//! [`SavedTensors::Dense`].
//!
//! The two functions of [`PersistSites`] are the only code of the state files that reads or
//! builds the fields of [`DenseSites`].

use std::borrow::Cow;

use num_complex::Complex64 as C64;

use super::{EngineKind, PersistSites, SavedTensors, Values};
use crate::mps::DenseSites;

impl PersistSites for DenseSites {
    const ENGINE: EngineKind = EngineKind::Dense;

    fn to_saved(&self) -> SavedTensors<'_> {
        // Saved as float64 only if that is bit-exact (no imaginary part is even -0.0).
        let as_real = self.real && self.tensors.iter().flatten().all(|z| z.im.to_bits() == 0);
        let sites = self
            .tensors
            .iter()
            .map(|t| {
                if as_real {
                    Values::Real(Cow::Owned(t.iter().map(|z| z.re).collect()))
                } else {
                    Values::Complex(Cow::Borrowed(t.as_slice()))
                }
            })
            .collect();
        SavedTensors::Dense {
            bonds: self.bonds.clone(),
            sites,
        }
    }

    fn from_saved(_n: usize, tensors: SavedTensors<'static>, real: bool) -> DenseSites {
        let SavedTensors::Dense { bonds, sites } = tensors else {
            unreachable!("persist::load checks the engine before building the state")
        };
        // Recomputed rather than trusted: the real fast path must never drop imaginary parts.
        let real = real && sites.iter().all(Values::is_real);
        let tensors: Vec<Vec<C64>> = sites.into_iter().map(Values::into_complex).collect();
        DenseSites::from_tensors(tensors, bonds, real)
    }

    fn bookkeeping_bytes(n: usize) -> u64 {
        // Per site: a tensor's Vec header and one bond dimension.
        (n as u64).saturating_mul(24 + 8)
    }
}
