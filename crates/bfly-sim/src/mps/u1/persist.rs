//! The U(1) engine's side of the state files ([`crate::mps`]'s `persist` module, one format
//! for both engines): `U1Mps` ↔ `SavedState`.
//!
//! The two functions of `Persist` are the only code of the state files that reads or builds
//! the fields of [`U1Mps`].

use std::borrow::Cow;
use std::path::Path;

use num_complex::Complex64 as C64;

use super::blocks::{Blocks, Table};
use super::kernels::U1Workspace;
use super::U1Mps;
use crate::mps::persist::{
    self, EngineKind, Persist, SavedBlock, SavedState, SavedStatistics, SavedTensors, Values,
};
use crate::mps::truncation::TruncationStats;
use bfly_core::error::Result;

/// First 8 bytes of a U(1) MPS file of format version 1 (bincode, before state files
/// became `.npz`): recognised on load to return
/// [`Error::LegacyStateFile`](bfly_core::Error::LegacyStateFile).
pub const U1_FILE_MAGIC: [u8; 8] = persist::LEGACY_U1_MAGIC;
/// Format version of the state files this build writes and reads; the same format and
/// version as the dense engine's ([`crate::mps::FILE_VERSION`]).
pub const U1_FILE_VERSION: u32 = persist::FILE_VERSION;

impl U1Mps {
    /// Write the state (blocks, sectors, layout, policy, truncation statistics) to `path`
    /// atomically, as an `.npz` archive that numpy reads: the format of
    /// [`Mps::save`](crate::mps::Mps::save) with `"engine": "u1"`, the header's `sectors`
    /// (for each of the `n + 1` bonds, its `[charge, dimension]` pairs; the charge of a
    /// bond is the number of 1s on the sites to its left) and `blocks` (`{"array":
    /// "block_3_1_0", "site": 3, "charge": 1, "bit": 0}`), and one array per non-zero
    /// block instead of `site_{s}`: shape `(d(site, charge), d(site + 1, charge + bit))`.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        persist::save(self, path.as_ref())
    }

    /// Read a state written by [`U1Mps::save`]. Truncated, corrupt, foreign (including a
    /// dense MPS file), hostile, wrong-version and old-format (bincode) files give a typed
    /// error naming the file.
    pub fn load(path: impl AsRef<Path>) -> Result<U1Mps> {
        persist::load(path.as_ref())
    }
}

impl Persist for U1Mps {
    const ENGINE: EngineKind = EngineKind::U1;

    fn to_saved(&self) -> SavedState<'_> {
        let sectors = self
            .dims
            .iter()
            .map(|bond| {
                (bond.iter().enumerate())
                    .filter(|&(_, &d)| d > 0)
                    .map(|(q, &d)| [q, d])
                    .collect()
            })
            .collect();
        fn stored<'a, T: Clone>(
            table: &'a Table<T>,
            wrap: impl Fn(&'a [T]) -> Values<'a>,
        ) -> Vec<SavedBlock<'a>> {
            let mut blocks = Vec::new();
            for (site, row) in table.iter().enumerate() {
                for (idx, b) in row.iter().enumerate().filter(|(_, b)| !b.is_empty()) {
                    blocks.push(SavedBlock {
                        site,
                        charge: idx / 2,
                        bit: idx % 2,
                        values: wrap(b),
                    });
                }
            }
            blocks
        }
        let blocks = match &self.blocks {
            Blocks::Real(t) => stored(t, |b| Values::Real(Cow::Borrowed(b))),
            Blocks::Complex(t) => stored(t, |b| Values::Complex(Cow::Borrowed(b))),
        };
        let s = &self.stats;
        SavedState {
            n: self.n,
            centre: self.centre,
            qubit_at_site: self.qubit_at_site.clone(),
            home: self.home.clone(),
            truncation: self.truncation,
            routing: self.routing,
            statistics: SavedStatistics {
                truncations: s.truncations,
                two_site_updates: s.two_site_updates,
                swaps: s.swaps,
                discarded_weight_per_bond: s.discarded_per_bond.clone(),
                total_discarded_weight: s.total_discarded,
                log_fidelity: s.log_fidelity,
                max_bond_reached: s.max_bond_reached,
                svd_fallbacks: s.svd_fallbacks,
            },
            real: self.is_real(),
            tensors: SavedTensors::U1 { sectors, blocks },
        }
    }

    fn from_saved(saved: SavedState<'static>) -> U1Mps {
        let SavedTensors::U1 { sectors, blocks } = saved.tensors else {
            unreachable!("persist::load checks the engine before building the state")
        };
        let n = saved.n;
        let mut dims = vec![vec![0; n + 2]; n + 1];
        for (bond, list) in sectors.iter().enumerate() {
            for &[q, d] in list {
                dims[bond][q] = d;
            }
        }
        // Real storage only if the file says real and every number is (as before saving).
        let all_real = blocks.iter().all(|b| matches!(b.values, Values::Real(_)));
        let table = if saved.real && all_real {
            let mut table: Table<f64> = vec![vec![Vec::new(); 2 * (n + 1)]; n];
            for b in blocks {
                if let Values::Real(v) = b.values {
                    table[b.site][2 * b.charge + b.bit] = v.into_owned();
                }
            }
            Blocks::Real(table)
        } else {
            let mut table: Table<C64> = vec![vec![Vec::new(); 2 * (n + 1)]; n];
            for b in blocks {
                table[b.site][2 * b.charge + b.bit] = b.values.into_complex();
            }
            if saved.real {
                Blocks::from_complex(table)
            } else {
                Blocks::Complex(table)
            }
        };
        let mut site_of_qubit = vec![0; n];
        for (s, &q) in saved.qubit_at_site.iter().enumerate() {
            site_of_qubit[q] = s;
        }
        let s = saved.statistics;
        U1Mps {
            n,
            dims,
            blocks: table,
            centre: saved.centre,
            qubit_at_site: saved.qubit_at_site,
            site_of_qubit,
            home: saved.home,
            truncation: saved.truncation,
            routing: saved.routing,
            stats: TruncationStats {
                truncations: s.truncations,
                two_site_updates: s.two_site_updates,
                swaps: s.swaps,
                discarded_per_bond: s.discarded_weight_per_bond,
                total_discarded: s.total_discarded_weight,
                log_fidelity: s.log_fidelity,
                max_bond_reached: s.max_bond_reached,
                svd_fallbacks: s.svd_fallbacks,
            },
            work: U1Workspace::default(),
        }
    }

    fn bookkeeping_bytes(n: usize) -> u64 {
        // The (n + 1) × (n + 2) sector table and the n × 2(n + 1) block table (a Vec
        // header per block), plus the per-site layout maps.
        let n = n as u64;
        let sectors = (n.saturating_add(1))
            .saturating_mul(n.saturating_add(2))
            .saturating_mul(8);
        let blocks = n.saturating_mul(n.saturating_add(1)).saturating_mul(2 * 24);
        sectors
            .saturating_add(blocks)
            .saturating_add(n.saturating_mul(48))
    }
}
