//! Saving and loading an MPS: a fixed header, then the state as bincode 2 (serde).
//!
//! Layout (all integers little-endian):
//!
//! | bytes | content |
//! |---|---|
//! | 0..8 | magic `b"BFLYMPS\0"` |
//! | 8..12 | format version (`u32`) |
//! | 12..20 | payload length in bytes (`u64`) |
//! | 20..28 | FNV-1a 64 checksum of the payload |
//! | 28.. | payload: bincode (standard config) of the state |
//!
//! The checksum catches bit rot and partial copies that still decode; it is hand-written
//! (FNV-1a, a few lines) because no checksum crate is among the dependencies. Files are
//! written atomically ([`bfly_core::io::write_atomic`]).

use std::path::Path;

use num_complex::Complex64 as C64;
use serde::{Deserialize, Serialize};

use super::ordering::Routing;
use super::truncation::{Truncation, TruncationStats};
use super::Mps;
use bfly_core::error::{Error, Result};

/// First 8 bytes of every MPS file.
pub const FILE_MAGIC: [u8; 8] = *b"BFLYMPS\0";
/// Format version written by this build (and the only one it reads).
pub const FILE_VERSION: u32 = 1;
const HEADER_LEN: usize = 28;

#[derive(Serialize)]
struct FileRef<'a> {
    n: usize,
    bonds: &'a [usize],
    centre: usize,
    qubit_at_site: &'a [usize],
    home: &'a [usize],
    tensors: &'a [Vec<C64>],
    truncation: &'a Truncation,
    routing: &'a Routing,
    stats: &'a TruncationStats,
    real: bool,
}

#[derive(Deserialize)]
struct FileOwned {
    n: usize,
    bonds: Vec<usize>,
    centre: usize,
    qubit_at_site: Vec<usize>,
    home: Vec<usize>,
    tensors: Vec<Vec<C64>>,
    truncation: Truncation,
    routing: Routing,
    stats: TruncationStats,
    real: bool,
}

/// `magic ‖ version ‖ payload length ‖ FNV-1a(payload) ‖ payload`: the framing of every
/// saved state (dense and U(1)), `HEADER_LEN` bytes before the payload.
pub(crate) fn frame(magic: &[u8; 8], version: u32, payload: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(HEADER_LEN + payload.len());
    bytes.extend_from_slice(magic);
    bytes.extend_from_slice(&version.to_le_bytes());
    bytes.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&fnv1a(payload).to_le_bytes());
    bytes.extend_from_slice(payload);
    bytes
}

/// The payload of a file framed by [`frame`] whose magic the caller has checked: the
/// header length, `version`, the announced payload length and the checksum are verified,
/// each failure a typed error naming `path` (`kind` names the file type).
pub(crate) fn framed_payload<'a>(
    bytes: &'a [u8],
    path: &Path,
    kind: &'static str,
    version: u32,
) -> Result<&'a [u8]> {
    let corrupt = |reason: String| Error::CorruptFile {
        path: path.to_path_buf(),
        reason,
    };
    if bytes.len() < HEADER_LEN {
        return Err(corrupt(format!(
            "truncated: {} bytes, shorter than the {HEADER_LEN}-byte header of a saved {kind} file",
            bytes.len()
        )));
    }
    let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    let found = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if found != version {
        return Err(Error::UnsupportedFileVersion {
            path: path.to_path_buf(),
            kind,
            found,
            supported: version,
        });
    }
    let declared = word(12);
    let payload = &bytes[HEADER_LEN..];
    if (payload.len() as u64) < declared {
        return Err(corrupt(format!(
            "truncated: the header announces {declared} payload bytes but only {} follow; the file was cut short (re-save it)",
            payload.len()
        )));
    }
    if (payload.len() as u64) > declared {
        return Err(corrupt(format!(
            "corrupt: {} unexpected bytes after the {declared}-byte payload",
            payload.len() as u64 - declared
        )));
    }
    if fnv1a(payload) != word(20) {
        return Err(corrupt(
            "corrupt: payload checksum mismatch (the file was modified or damaged after saving)"
                .into(),
        ));
    }
    Ok(payload)
}

/// FNV-1a, 64-bit: the state files' payload checksum.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

impl Mps {
    /// Write the state (tensors, layout, policy and truncation statistics) to `path`,
    /// atomically.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let file = FileRef {
            n: self.n,
            bonds: &self.sites.bonds,
            centre: self.centre,
            qubit_at_site: &self.qubit_at_site,
            home: &self.home,
            tensors: &self.sites.tensors,
            truncation: &self.truncation,
            routing: &self.routing,
            stats: &self.stats,
            real: self.sites.real,
        };
        let payload =
            bincode::serde::encode_to_vec(&file, bincode::config::standard()).map_err(|e| {
                Error::InvalidInput(format!("{}: cannot encode the MPS: {e}", path.display()))
            })?;
        bfly_core::io::write_atomic(path, &frame(&FILE_MAGIC, FILE_VERSION, &payload))
    }

    /// Read a state written by [`Mps::save`]. Truncated, corrupt, foreign or
    /// wrong-version files give a typed error naming the file.
    pub fn load(path: impl AsRef<Path>) -> Result<Mps> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_file_bytes(&bytes, path)
    }

    fn from_file_bytes(bytes: &[u8], path: &Path) -> Result<Mps> {
        let corrupt = |reason: String| Error::CorruptFile {
            path: path.to_path_buf(),
            reason,
        };
        if bytes.len() < 8 || bytes[..8] != FILE_MAGIC {
            let looks_truncated = bytes.len() < 8 && FILE_MAGIC.starts_with(bytes);
            return Err(corrupt(if looks_truncated {
                format!(
                    "truncated: {} bytes, shorter than the {HEADER_LEN}-byte header of an MPS file",
                    bytes.len()
                )
            } else {
                "not an MPS file (the first bytes are not \"BFLYMPS\"); pass a file written by `Mps::save`".into()
            }));
        }
        let payload = framed_payload(bytes, path, "MPS", FILE_VERSION)?;
        let (file, used): (FileOwned, usize) =
            bincode::serde::decode_from_slice(payload, bincode::config::standard())
                .map_err(|e| corrupt(format!("corrupt: cannot decode the MPS payload: {e}")))?;
        if used != payload.len() {
            return Err(corrupt(format!(
                "corrupt: the payload decodes in {used} of its {} bytes",
                payload.len()
            )));
        }
        Self::from_parts(file).map_err(|reason| corrupt(format!("inconsistent MPS: {reason}")))
    }

    fn from_parts(f: FileOwned) -> std::result::Result<Mps, String> {
        let n = f.n;
        if n == 0 {
            return Err("0 qubits".into());
        }
        if f.bonds.len() != n + 1 || f.bonds[0] != 1 || f.bonds[n] != 1 {
            return Err(format!(
                "{} bond dimensions for {n} sites (need {} with both ends 1)",
                f.bonds.len(),
                n + 1
            ));
        }
        if f.bonds.contains(&0) {
            return Err("a bond dimension is 0".into());
        }
        if f.tensors.len() != n {
            return Err(format!("{} site tensors for {n} sites", f.tensors.len()));
        }
        for (s, t) in f.tensors.iter().enumerate() {
            let want = f.bonds[s]
                .checked_mul(2)
                .and_then(|x| x.checked_mul(f.bonds[s + 1]));
            if want != Some(t.len()) {
                return Err(format!(
                    "site {s} holds {} numbers but its bonds {}×2×{} need {:?}",
                    t.len(),
                    f.bonds[s],
                    f.bonds[s + 1],
                    want
                ));
            }
            if t.iter().any(|z| !z.re.is_finite() || !z.im.is_finite()) {
                return Err(format!("site {s} holds NaN or infinite values"));
            }
        }
        if f.centre >= n {
            return Err(format!("orthogonality centre {} outside 0..{n}", f.centre));
        }
        let qubit_at_site = super::SiteOrdering::Custom(f.qubit_at_site)
            .qubit_at_site(n)
            .map_err(|e| e.to_string())?;
        let home = super::SiteOrdering::Custom(f.home)
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
        let tensors_real = f.tensors.iter().flatten().all(|z| z.im == 0.0);
        Ok(Mps {
            n,
            // Real-ness is recomputed rather than trusted: the real fast path must never
            // drop imaginary parts.
            sites: super::DenseSites::from_tensors(f.tensors, f.bonds, f.real && tensors_real),
            centre: f.centre,
            qubit_at_site,
            site_of_qubit,
            home,
            truncation: f.truncation,
            routing: f.routing,
            stats: f.stats,
        })
    }
}
