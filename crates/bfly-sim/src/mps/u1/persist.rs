//! The U(1) engine's side of the state files ([`crate::mps`]'s `persist` module, one format
//! for both engines): the U(1) blocks ↔ `SavedTensors::U1`.
//!
//! The two functions of `PersistSites` are the only code of the state files that reads or
//! builds the fields of [`U1Sites`].

use std::borrow::Cow;

use num_complex::Complex64 as C64;

use super::blocks::{Blocks, Table};
use super::kernels::U1Workspace;
use super::U1Sites;
use crate::mps::persist::{self, EngineKind, PersistSites, SavedBlock, SavedTensors, Values};

/// First 8 bytes of a U(1) MPS file of format version 1 (bincode, before state files
/// became `.npz`): recognised on load to return
/// [`Error::LegacyStateFile`](bfly_core::Error::LegacyStateFile).
pub const U1_FILE_MAGIC: [u8; 8] = persist::LEGACY_U1_MAGIC;
/// Format version of the state files this build writes and reads; the same format and
/// version as the dense engine's ([`crate::mps::FILE_VERSION`]).
pub const U1_FILE_VERSION: u32 = persist::FILE_VERSION;

impl PersistSites for U1Sites {
    const ENGINE: EngineKind = EngineKind::U1;

    fn to_saved(&self) -> SavedTensors<'_> {
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
        SavedTensors::U1 { sectors, blocks }
    }

    fn from_saved(n: usize, tensors: SavedTensors<'static>, real: bool) -> U1Sites {
        let SavedTensors::U1 { sectors, blocks } = tensors else {
            unreachable!("persist::load checks the engine before building the state")
        };
        let mut dims = vec![vec![0; n + 2]; n + 1];
        for (bond, list) in sectors.iter().enumerate() {
            for &[q, d] in list {
                dims[bond][q] = d;
            }
        }
        // Real storage only if the file says real and every number is (as before saving).
        let all_real = blocks.iter().all(|b| matches!(b.values, Values::Real(_)));
        let table = if real && all_real {
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
            if real {
                Blocks::from_complex(table)
            } else {
                Blocks::Complex(table)
            }
        };
        U1Sites {
            dims,
            blocks: table,
            work: U1Workspace::default(),
        }
    }

    fn bookkeeping_bytes(n: usize) -> u64 {
        // The (n + 1) × (n + 2) sector table and the n × 2(n + 1) block table (a Vec
        // header per block).
        let n = n as u64;
        let sectors = (n.saturating_add(1))
            .saturating_mul(n.saturating_add(2))
            .saturating_mul(8);
        let blocks = n.saturating_mul(n.saturating_add(1)).saturating_mul(2 * 24);
        sectors.saturating_add(blocks)
    }
}
