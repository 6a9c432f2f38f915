//! Saving and loading a U(1) MPS: the dense engine's file layout (magic, version,
//! payload length, FNV-1a checksum, bincode payload) with its own magic
//! `b"BFLYU1M\0"`, so neither engine mistakes the other's files. Writes are atomic.

use std::path::Path;

use num_complex::Complex64 as C64;
use serde::{Deserialize, Serialize};

use super::blocks::Blocks;
use super::kernels::U1Workspace;
use super::{U1Mps, U1Sites};
use crate::mps::persist::{frame, framed_payload};
use crate::mps::truncation::{Truncation, TruncationStats};
use crate::mps::{Routing, SiteOrdering};
use bfly_core::error::{Error, Result};

/// First 8 bytes of every U(1) MPS file.
pub const U1_FILE_MAGIC: [u8; 8] = *b"BFLYU1M\0";
/// Format version written by this build (and the only one it reads).
pub const U1_FILE_VERSION: u32 = 1;
const HEADER_LEN: usize = 28;

#[derive(Serialize)]
struct FileRef<'a> {
    n: usize,
    dims: &'a [Vec<usize>],
    blocks: &'a [Vec<Vec<C64>>],
    centre: usize,
    qubit_at_site: &'a [usize],
    home: &'a [usize],
    truncation: &'a Truncation,
    routing: &'a Routing,
    stats: &'a TruncationStats,
    real: bool,
}

#[derive(Deserialize)]
struct FileOwned {
    n: usize,
    dims: Vec<Vec<usize>>,
    blocks: Vec<Vec<Vec<C64>>>,
    centre: usize,
    qubit_at_site: Vec<usize>,
    home: Vec<usize>,
    truncation: Truncation,
    routing: Routing,
    stats: TruncationStats,
    real: bool,
}

impl U1Mps {
    /// Write the state (blocks, sectors, layout, policy, truncation statistics) to `path`,
    /// atomically.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let file = FileRef {
            n: self.n,
            dims: &self.sites.dims,
            blocks: &self.sites.blocks.to_complex(),
            centre: self.centre,
            qubit_at_site: &self.qubit_at_site,
            home: &self.home,
            truncation: &self.truncation,
            routing: &self.routing,
            stats: &self.stats,
            real: self.is_real(),
        };
        let payload =
            bincode::serde::encode_to_vec(&file, bincode::config::standard()).map_err(|e| {
                Error::InvalidInput(format!(
                    "{}: cannot encode the U(1) MPS: {e}",
                    path.display()
                ))
            })?;
        bfly_core::io::write_atomic(path, &frame(&U1_FILE_MAGIC, U1_FILE_VERSION, &payload))
    }

    /// Read a state written by [`U1Mps::save`]. Truncated, corrupt, foreign (including a
    /// dense MPS file) or wrong-version files give a typed error naming the file.
    pub fn load(path: impl AsRef<Path>) -> Result<U1Mps> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let corrupt = |reason: String| Error::CorruptFile {
            path: path.to_path_buf(),
            reason,
        };
        if bytes.len() < 8 || bytes[..8] != U1_FILE_MAGIC {
            if bytes.len() >= 8 && bytes[..8] == crate::mps::FILE_MAGIC {
                return Err(corrupt(
                    "this is a dense MPS file; load it with Mps::load (and convert with U1Mps::from_dense)".into(),
                ));
            }
            return Err(corrupt(
                if bytes.len() < 8 && U1_FILE_MAGIC.starts_with(&bytes) {
                    format!("truncated: {} bytes, shorter than the {HEADER_LEN}-byte header of a U(1) MPS file", bytes.len())
                } else {
                    "not a U(1) MPS file (the first bytes are not \"BFLYU1M\"); pass a file written by `U1Mps::save`".into()
                },
            ));
        }
        let payload = framed_payload(&bytes, path, "U(1) MPS", U1_FILE_VERSION)?;
        let (file, used): (FileOwned, usize) =
            bincode::serde::decode_from_slice(payload, bincode::config::standard()).map_err(
                |e| corrupt(format!("corrupt: cannot decode the U(1) MPS payload: {e}")),
            )?;
        if used != payload.len() {
            return Err(corrupt(format!(
                "corrupt: the payload decodes in {used} of its {} bytes",
                payload.len()
            )));
        }
        from_parts(file).map_err(|reason| corrupt(format!("inconsistent U(1) MPS: {reason}")))
    }
}

fn from_parts(f: FileOwned) -> std::result::Result<U1Mps, String> {
    let n = f.n;
    if n == 0 {
        return Err("0 qubits".into());
    }
    if f.dims.len() != n + 1 || f.dims.iter().any(|d| d.len() != n + 2) {
        return Err(format!("sector table is not (n + 1) × (n + 2) for n = {n}"));
    }
    if f.dims[0]
        .iter()
        .enumerate()
        .any(|(q, &d)| d != usize::from(q == 0))
    {
        return Err("the left boundary must be one charge-0 state".into());
    }
    if f.dims[n].iter().any(|&d| d > 1) || f.dims.iter().any(|d| d[n + 1] != 0) {
        return Err("right-boundary sectors must have dimension 1".into());
    }
    if f.blocks.len() != n || f.blocks.iter().any(|b| b.len() != 2 * (n + 1)) {
        return Err(format!("block table is not n × 2(n + 1) for n = {n}"));
    }
    for (site, blocks) in f.blocks.iter().enumerate() {
        for (idx, b) in blocks.iter().enumerate() {
            let (q, s) = (idx / 2, idx % 2);
            let want = f.dims[site][q].checked_mul(f.dims[site + 1][q + s]);
            if !b.is_empty() && want != Some(b.len()) {
                return Err(format!(
                    "site {site} block (charge {q}, bit {s}) holds {} numbers but its sectors need {want:?}",
                    b.len()
                ));
            }
            if b.iter().any(|z| !z.re.is_finite() || !z.im.is_finite()) {
                return Err(format!("site {site} holds NaN or infinite values"));
            }
        }
    }
    if f.centre >= n {
        return Err(format!("orthogonality centre {} outside 0..{n}", f.centre));
    }
    let qubit_at_site = SiteOrdering::Custom(f.qubit_at_site)
        .qubit_at_site(n)
        .map_err(|e| e.to_string())?;
    let home = SiteOrdering::Custom(f.home)
        .qubit_at_site(n)
        .map_err(|e| format!("home layout: {e}"))?;
    f.truncation.validate().map_err(|e| e.to_string())?;
    if f.stats.discarded_per_bond.len() != n - 1 {
        return Err("truncation statistics do not match the number of bonds".into());
    }
    let mut site_of_qubit = vec![0; n];
    for (s, &q) in qubit_at_site.iter().enumerate() {
        site_of_qubit[q] = s;
    }
    Ok(U1Mps {
        n,
        sites: U1Sites {
            dims: f.dims,
            // Real storage only if the file says real and every number is.
            blocks: if f.real {
                Blocks::from_complex(f.blocks)
            } else {
                Blocks::Complex(f.blocks)
            },
            work: U1Workspace::default(),
        },
        centre: f.centre,
        qubit_at_site,
        site_of_qubit,
        home,
        truncation: f.truncation,
        routing: f.routing,
        stats: f.stats,
    })
}
