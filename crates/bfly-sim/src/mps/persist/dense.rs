//! The dense engine's side of the state files ([`super`]): its site tensors ↔
//! [`SavedTensors::Dense`].
//!
//! The two functions of [`PersistSites`] are the only code of the state files that reads or
//! builds the fields of [`DenseSites`].

use std::borrow::Cow;
use std::path::Path;

use num_complex::Complex64 as C64;

use super::{EngineKind, PersistSites, SavedTensors, Values};
use crate::mps::{DenseSites, Mps};
use bfly_core::error::Result;

impl Mps {
    /// Write the state (tensors, layout, policy and truncation statistics) to `path`
    /// atomically, as an `.npz` archive (format version [`FILE_VERSION`](crate::mps::FILE_VERSION),
    /// shared with [`U1Mps::save`](crate::mps::u1::U1Mps::save)) that numpy reads:
    ///
    /// - `header`: the JSON header as a 1-d `uint8` array: `format`
    ///   (`"butterfly-mps-state"`), `version`, `engine` (`"dense"`), `n`, `bonds` (`n + 1`
    ///   entries), `centre`, `qubit_at_site`, `home`, `truncation`, `routing`, `statistics`
    ///   (the [`TruncationReport`](crate::mps::TruncationReport) totals, with `log_fidelity`
    ///   = ln of the fidelity estimate) and `real`;
    /// - `site_{s}` for each site `s`: the tensor, shape `(χl, 2, χr)` (left bond, physical
    ///   bit, right bond), `float64` if the state is real, else `complex128`.
    ///
    /// ```python
    /// import json, numpy
    /// z = numpy.load("state.npz"); header = json.loads(z["header"].tobytes())
    /// ```
    ///
    /// A state holding NaN or infinite numbers is refused (its file would not load).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        super::save(self, path.as_ref())
    }

    /// Read a state written by [`Mps::save`]. Truncated, corrupt, foreign, hostile,
    /// wrong-version and old-format (bincode) files give a typed error naming the file.
    pub fn load(path: impl AsRef<Path>) -> Result<Mps> {
        super::load(path.as_ref())
    }
}

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
