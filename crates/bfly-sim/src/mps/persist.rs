//! MPS state files, one format for both engines (dense [`Mps`](super::Mps) and U(1)
//! [`U1Mps`](super::u1::U1Mps)): an **`.npz` archive** (a zip of `.npy` arrays, as written
//! by `numpy.savez`) holding a JSON header and one array per site tensor or block.
//!
//! # Members
//! - `header.npy`: the UTF-8 bytes of a JSON document, as a 1-d `uint8` array.
//! - Dense engine: `site_{s}.npy` for every site `s` in `0..n`, shape `(χl, 2, χr)`, axes
//!   (left bond, physical bit, right bond); `χl = bonds[s]`, `χr = bonds[s + 1]`.
//! - U(1) engine: one `.npy` per non-zero block, named in the header's `blocks` list
//!   (`block_{site}_{charge}_{bit}`): the block of site `site` whose left bond has charge
//!   `charge` (the number of 1s on the sites to its left) and whose physical bit is `bit`,
//!   shape `(d(site, charge), d(site + 1, charge + bit))` with `d` the sector dimensions of
//!   the header's `sectors`. Blocks not listed are zero.
//!
//! Arrays are `float64` when the state is real (header `real`) and `complex128` otherwise;
//! loading accepts either dtype for any array, and either memory order (this crate writes
//! Fortran order, which is its own memory layout, so nothing is copied to save).
//!
//! # Header
//! ```json
//! {"format": "butterfly-mps-state", "version": 2, "engine": "dense", "n": 3,
//!  "bonds": [1, 2, 2, 1], "centre": 0, "qubit_at_site": [0, 2, 1], "home": [0, 2, 1],
//!  "truncation": {"max_bond": 64, "cutoff": 1e-12}, "routing": "move-higher",
//!  "statistics": {"truncations": 0, "two_site_updates": 2, "swaps": 1,
//!                 "discarded_weight_per_bond": [0.0, 0.0], "total_discarded_weight": 0.0,
//!                 "log_fidelity": 0.0, "max_bond_reached": 2, "svd_fallbacks": 0},
//!  "real": true}
//! ```
//! `bonds` has `n + 1` entries (bond `i` is left of site `i`; the U(1) engine's last bond
//! counts the total weights present). `qubit_at_site[s]` is the qubit at site `s`; `home` is
//! the initial layout; `centre` the orthogonality centre. `log_fidelity` is `Σ ln(1 − ε)`
//! over all truncations (the report's fidelity estimate is its exponential). A U(1) header
//! adds `"engine": "u1"`, `"sectors"` (for each of the `n + 1` bonds, its `[charge,
//! dimension]` pairs in increasing charge) and `"blocks"` (`{"array": "block_0_0_1",
//! "site": 0, "charge": 0, "bit": 1}` for each stored block).
//!
//! # Reading a state file from Python
//! ```python
//! import json, numpy
//! z = numpy.load("state.npz"); header = json.loads(z["header"].tobytes())
//! a = z["site_0"]  # dense: shape (χl, 2, χr); U(1): z[b["array"]] for b in header["blocks"]
//! ```
//!
//! # Choices
//! - **Stored, not deflated.** Tensors are dense floating-point data that deflate shrinks
//!   little, stored members load without inflating, and the size of every array is then
//!   bounded by the file's size, which the loader checks before allocating. Compressed
//!   members (`numpy.savez_compressed`) are refused with a typed error.
//! - **Integrity: the zip CRC-32 of every member**, checked by the `zip` crate as each member
//!   is read to its end; there is no extra checksum.
//! - **Loading never trusts the file:** the header is validated (permutations, centre,
//!   bonds against sectors, truncation policy, statistics), the memory the state will need
//!   is checked against the file's size and the memory available before any array is read,
//!   every array's shape must match the header before it is allocated, and every number must
//!   be finite. Every failure is a typed [`Error`] naming the file.
//! - Files of format version 1 (bincode, magic [`FILE_MAGIC`] or
//!   [`U1_FILE_MAGIC`](super::u1::U1_FILE_MAGIC)) are recognised and refused with
//!   [`Error::LegacyStateFile`], which says how to make a new file.
//! - Writes are atomic ([`bfly_core::io::write_atomic`]).
//!
//! The [`Chain`] core saves and loads what both engines share (layout, centre, policies,
//! statistics) once; each engine's block storage touches this module through
//! [`PersistSites`] only: one function from its numbers to [`SavedTensors`] and one back
//! (`persist/dense.rs`, `u1/persist.rs`).

mod dense;

use std::borrow::Cow;
use std::collections::HashSet;
use std::io::{BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::Path;

use ndarray::{ArrayD, ArrayView, ArrayViewD, IxDyn, ShapeBuilder};
use ndarray_npy::{NpzWriter, ReadNpyError, ReadNpyExt, ReadableElement};
use num_complex::Complex64 as C64;
use serde::{Deserialize, Serialize};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive};

use super::chain::{Chain, SiteStorage};
use super::truncation::TruncationStats;
use super::{Routing, SiteOrdering, Truncation};
use bfly_core::error::{format_bytes, Error, Result};

/// Format version of the state files this build writes and reads (both engines).
pub const FILE_VERSION: u32 = 2;
/// The header's `format` value.
pub const FILE_FORMAT: &str = "butterfly-mps-state";
/// First 8 bytes of a dense MPS file of format version 1 (bincode, before state files
/// became `.npz`): recognised on load to return [`Error::LegacyStateFile`].
pub const FILE_MAGIC: [u8; 8] = *b"BFLYMPS\0";
/// First 8 bytes of a U(1) MPS file of format version 1 (bincode).
pub(crate) const LEGACY_U1_MAGIC: [u8; 8] = *b"BFLYU1M\0";
/// First bytes of every zip archive (a local file header).
const ZIP_MAGIC: [u8; 4] = *b"PK\x03\x04";
/// Name of the header member (without `.npy`).
const HEADER_ARRAY: &str = "header";
/// Largest JSON header read (a U(1) state of 1,024 qubits whose bonds hold every possible
/// sector lists about a million blocks, some 60 MiB); [`save`] refuses to write a larger
/// one, so every saved file loads.
const MAX_HEADER_BYTES: u64 = 256 << 20;
/// Largest `.npy` preamble + header dictionary accepted before an array's data (numpy and
/// ndarray-npy write 128 bytes for the arrays here; version 1 caps it near 64 KiB).
const MAX_NPY_HEADER_BYTES: u64 = 12 + u16::MAX as u64;
/// Memory assumed available where the OS does not report it (loading a larger state is
/// refused there).
const FALLBACK_MEMORY_BUDGET: u64 = 16 << 30;

/// Which engine a state file belongs to (header `engine`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    /// [`super::Mps`].
    Dense,
    /// [`super::u1::U1Mps`].
    U1,
}

impl EngineKind {
    /// The engine's name in error messages.
    fn label(self) -> &'static str {
        match self {
            EngineKind::Dense => "dense MPS",
            EngineKind::U1 => "U(1) MPS",
        }
    }

    /// How to load a file of this engine (for errors about a file of the other one).
    fn how_to_load(self) -> &'static str {
        match self {
            EngineKind::Dense => "load it with Mps::load (and convert with U1Mps::from_dense)",
            EngineKind::U1 => "load it with U1Mps::load (and convert with U1Mps::to_dense)",
        }
    }
}

/// The numbers of one array (a dense site tensor or a U(1) block) in the engines' memory
/// order: first index fastest (a dense tensor `A[l, s, r]` at `l + χl·(s + 2·r)`, a block
/// column-major).
#[derive(Clone, Debug, PartialEq)]
pub enum Values<'a> {
    /// Real numbers (saved as `float64`).
    Real(Cow<'a, [f64]>),
    /// Complex numbers (saved as `complex128`).
    Complex(Cow<'a, [C64]>),
}

impl Values<'_> {
    fn len(&self) -> usize {
        match self {
            Values::Real(v) => v.len(),
            Values::Complex(v) => v.len(),
        }
    }

    fn all_finite(&self) -> bool {
        match self {
            Values::Real(v) => v.iter().all(|x| x.is_finite()),
            Values::Complex(v) => v.iter().all(|z| z.re.is_finite() && z.im.is_finite()),
        }
    }

    /// Every number has imaginary part exactly `+0.0`.
    pub fn is_real(&self) -> bool {
        match self {
            Values::Real(_) => true,
            Values::Complex(v) => v.iter().all(|z| z.im == 0.0),
        }
    }

    /// The numbers as complex numbers (real ones with imaginary part `+0.0`).
    pub fn into_complex(self) -> Vec<C64> {
        match self {
            Values::Real(v) => v.iter().map(|&x| C64::new(x, 0.0)).collect(),
            Values::Complex(v) => v.into_owned(),
        }
    }
}

/// One stored U(1) block.
#[derive(Clone, Debug, PartialEq)]
pub struct SavedBlock<'a> {
    /// Site of the block.
    pub site: usize,
    /// Charge of its left bond.
    pub charge: usize,
    /// Its physical bit (0 or 1); the right bond has charge `charge + bit`.
    pub bit: usize,
    /// `d(site, charge) × d(site + 1, charge + bit)` numbers, column-major.
    pub values: Values<'a>,
}

/// The tensors of a saved state.
#[derive(Clone, Debug, PartialEq)]
pub enum SavedTensors<'a> {
    /// Dense: `bonds` (`n + 1` entries, both ends 1) and one tensor per site.
    Dense {
        bonds: Vec<usize>,
        sites: Vec<Values<'a>>,
    },
    /// U(1): the non-zero `(charge, dimension)` sectors of each of the `n + 1` bonds, in
    /// increasing charge, and the non-zero blocks.
    U1 {
        sectors: Vec<Vec<[usize; 2]>>,
        blocks: Vec<SavedBlock<'a>>,
    },
}

/// Everything a state file holds, independent of the engines' structs: what
/// `Chain::to_saved` produces and `Chain::from_saved` consumes.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SavedState<'a> {
    /// Number of qubits (≥ 1).
    pub n: usize,
    /// Orthogonality centre (a site).
    pub centre: usize,
    /// Qubit at each site.
    pub qubit_at_site: Vec<usize>,
    /// The initial layout.
    pub home: Vec<usize>,
    /// Truncation policy.
    pub truncation: Truncation,
    /// Routing of long-range gates.
    pub routing: Routing,
    /// Truncation totals.
    pub statistics: TruncationStats,
    /// The state (and every gate so far) is real.
    pub real: bool,
    /// The numbers.
    pub tensors: SavedTensors<'a>,
}

/// The storage's side of the state files: the only code of this module that reads or
/// builds an engine's numbers (`persist/dense.rs`, `u1/persist.rs`). Everything else a
/// file holds (layout, centre, policies, statistics) belongs to the [`Chain`] and is
/// saved once for both engines.
pub trait PersistSites: Sized {
    /// The engine named in the header.
    const ENGINE: EngineKind;

    /// The numbers as plain data, borrowing them where their layout allows.
    fn to_saved(&self) -> SavedTensors<'_>;

    /// Storage holding `tensors` (validated against the header by [`load`]); `real` is the
    /// header's flag, which the storage confirms against the numbers before trusting it.
    fn from_saved(n: usize, tensors: SavedTensors<'static>, real: bool) -> Self;

    /// Bytes the storage allocates for `n` sites besides its numbers (saturating).
    fn bookkeeping_bytes(n: usize) -> u64;
}

/// What a file holds besides the storage's numbers, saved and loaded once for both
/// engines.
impl<S: SiteStorage + PersistSites> Chain<S> {
    /// The state as plain data, borrowing its numbers where their layout allows.
    pub(crate) fn to_saved(&self) -> SavedState<'_> {
        SavedState {
            n: self.n,
            centre: self.centre,
            qubit_at_site: self.qubit_at_site.clone(),
            home: self.home.clone(),
            truncation: self.truncation,
            routing: self.routing,
            statistics: self.stats.clone(),
            real: self.sites.is_real(),
            tensors: self.sites.to_saved(),
        }
    }

    /// The state holding `saved`, which [`load`] has validated: permutations, centre,
    /// shapes against bonds or sectors, finite numbers and the statistics' length.
    fn from_saved(saved: SavedState<'static>) -> Self {
        let n = saved.n;
        let mut site_of_qubit = vec![0; n];
        for (site, &q) in saved.qubit_at_site.iter().enumerate() {
            site_of_qubit[q] = site;
        }
        Chain {
            n,
            sites: S::from_saved(n, saved.tensors, saved.real),
            centre: saved.centre,
            qubit_at_site: saved.qubit_at_site,
            site_of_qubit,
            home: saved.home,
            truncation: saved.truncation,
            routing: saved.routing,
            stats: saved.statistics,
        }
    }

    /// Bytes a loaded `n`-qubit state allocates besides its numbers (saturating), checked
    /// against the memory available before loading.
    fn bookkeeping_bytes(n: usize) -> u64 {
        // Three usize layout maps (qubit_at_site, site_of_qubit, home) and one discarded
        // weight per site, plus what the storage keeps.
        (n as u64)
            .saturating_mul(4 * 8)
            .saturating_add(S::bookkeeping_bytes(n))
    }
}

impl<S: SiteStorage + PersistSites> Chain<S> {
    /// Write the state (tensors, layout, policy and truncation statistics) to `path`
    /// atomically, as an `.npz` archive that numpy reads (format version
    /// [`FILE_VERSION`](crate::mps::FILE_VERSION), the same for both engines):
    ///
    /// - `header`: the JSON header as a 1-d `uint8` array: `format`
    ///   (`"butterfly-mps-state"`), `version`, `engine` (`"dense"` or `"u1"`), `n`, `bonds`
    ///   (`n + 1` entries), `centre`, `qubit_at_site`, `home`, `truncation`, `routing`,
    ///   `statistics` (the [`TruncationReport`](crate::mps::TruncationReport) totals, with
    ///   `log_fidelity` = ln of the fidelity estimate) and `real`;
    /// - dense engine ([`Mps`](crate::mps::Mps)): `site_{s}` for each site `s`, the tensor
    ///   of shape `(χl, 2, χr)` (left bond, physical bit, right bond);
    /// - U(1) engine ([`U1Mps`](crate::mps::u1::U1Mps)): the header adds `sectors` (for each
    ///   of the `n + 1` bonds, its `[charge, dimension]` pairs; the charge of a bond is the
    ///   number of 1s on the sites to its left) and `blocks` (`{"array": "block_3_1_0",
    ///   "site": 3, "charge": 1, "bit": 0}`), with one array per non-zero block, of shape
    ///   `(d(site, charge), d(site + 1, charge + bit))`.
    ///
    /// Arrays are `float64` if the state is real, else `complex128`.
    ///
    /// ```python
    /// import json, numpy
    /// z = numpy.load("state.npz"); header = json.loads(z["header"].tobytes())
    /// ```
    ///
    /// A state holding NaN or infinite numbers is refused (its file would not load).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        save(self, path.as_ref())
    }

    /// Read a state written by [`Chain::save`] for this engine. Truncated, corrupt, foreign
    /// (including a file of the other engine), hostile, wrong-version and old-format
    /// (bincode) files give a typed error naming the file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        load(path.as_ref())
    }

    /// Read a state from the bytes of a state file, with exactly the checks of
    /// [`Chain::load`] (for a file already in memory, and for fuzzing the loader); `name`
    /// names the source in errors.
    pub fn load_bytes(bytes: &[u8], name: impl AsRef<Path>) -> Result<Self> {
        let open = || Ok(Cursor::new(bytes));
        load_from(open, bytes.len() as u64, name.as_ref())
    }
}

/// The JSON header (member `header.npy`).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    format: String,
    version: u32,
    engine: EngineKind,
    n: usize,
    bonds: Vec<usize>,
    centre: usize,
    qubit_at_site: Vec<usize>,
    home: Vec<usize>,
    truncation: Truncation,
    routing: Routing,
    statistics: TruncationStats,
    real: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sectors: Option<Vec<Vec<[usize; 2]>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    blocks: Option<Vec<BlockEntry>>,
}

/// One U(1) block in the header.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BlockEntry {
    array: String,
    site: usize,
    charge: usize,
    bit: usize,
}

/// The fields every version of the header has: read first, so another version gives
/// [`Error::UnsupportedFileVersion`] rather than a schema error.
#[derive(Deserialize)]
struct Preamble {
    format: Option<String>,
    version: Option<u32>,
}

/// One array a header announces: its member name (without `.npy`) and shape.
struct ArraySpec {
    name: String,
    shape: Vec<usize>,
}

fn site_array(site: usize) -> String {
    format!("site_{site}")
}

fn block_array(site: usize, charge: usize, bit: usize) -> String {
    format!("block_{site}_{charge}_{bit}")
}

/// Write `state` to `path` atomically.
pub(crate) fn save<S: SiteStorage + PersistSites>(state: &Chain<S>, path: &Path) -> Result<()> {
    let saved = state.to_saved();
    let refuse = |reason: String| {
        Error::InvalidInput(format!(
            "{}: cannot save the {}: {reason}",
            path.display(),
            S::ENGINE.label()
        ))
    };
    let (header, arrays) = split(saved);
    let specs = check_header(&header).map_err(|e| refuse(format!("inconsistent state: {e}")))?;
    if specs.len() != arrays.len() {
        return Err(refuse(format!(
            "{} arrays for the {} its header lists",
            arrays.len(),
            specs.len()
        )));
    }
    let stats = &header.statistics;
    let totals = [stats.total_discarded, stats.log_fidelity];
    if !totals
        .iter()
        .chain(&stats.discarded_per_bond)
        .all(|x| x.is_finite())
    {
        return Err(refuse(
            "its truncation statistics hold NaN or infinite values".into(),
        ));
    }
    if arrays.iter().any(|a| !a.all_finite()) {
        return Err(refuse(
            "it holds NaN or infinite amplitudes (a file of it would not load)".into(),
        ));
    }
    let json = serde_json::to_vec(&header).map_err(|e| refuse(e.to_string()))?;
    if json.len() as u64 > MAX_HEADER_BYTES {
        return Err(refuse(format!(
            "its header would take {}, more than the {} a state file may hold",
            format_bytes(json.len() as f64),
            format_bytes(MAX_HEADER_BYTES as f64)
        )));
    }
    let zip_error =
        |e: ndarray_npy::WriteNpzError| refuse(format!("cannot write the archive: {e}"));
    let mut npz = NpzWriter::new(Cursor::new(Vec::new()));
    npz.add_array(HEADER_ARRAY, &ArrayView::from(json.as_slice()))
        .map_err(zip_error)?;
    for (spec, values) in specs.iter().zip(&arrays) {
        // Fortran order is the engines' layout (first index fastest): no copy.
        let shape = IxDyn(&spec.shape).f();
        let bytes = values.len() as u64 * 16;
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Stored)
            .large_file(bytes + MAX_NPY_HEADER_BYTES >= u64::from(u32::MAX));
        let mismatch = |e: ndarray::ShapeError| {
            refuse(format!(
                "array `{}` holds {} numbers, which do not fill its shape {:?} ({e})",
                spec.name,
                values.len(),
                spec.shape
            ))
        };
        let written = match values {
            Values::Real(v) => npz.add_array_with_options(
                spec.name.as_str(),
                &ArrayViewD::from_shape(shape, &v[..]).map_err(mismatch)?,
                options,
            ),
            Values::Complex(v) => npz.add_array_with_options(
                spec.name.as_str(),
                &ArrayViewD::from_shape(shape, &v[..]).map_err(mismatch)?,
                options,
            ),
        };
        written.map_err(zip_error)?;
    }
    let bytes = npz.finish().map_err(zip_error)?.into_inner();
    bfly_core::io::write_atomic(path, &bytes)
}

/// The header of `saved` and its arrays in the order [`check_header`] lists them.
fn split(saved: SavedState<'_>) -> (Header, Vec<Values<'_>>) {
    let (engine, bonds, sectors, blocks, arrays) = match saved.tensors {
        SavedTensors::Dense { bonds, sites } => (EngineKind::Dense, bonds, None, None, sites),
        SavedTensors::U1 { sectors, blocks } => {
            let bonds = sectors
                .iter()
                .map(|s| s.iter().map(|&[_, d]| d).sum())
                .collect();
            let (entries, values) = blocks
                .into_iter()
                .map(|b| {
                    let entry = BlockEntry {
                        array: block_array(b.site, b.charge, b.bit),
                        site: b.site,
                        charge: b.charge,
                        bit: b.bit,
                    };
                    (entry, b.values)
                })
                .unzip();
            (EngineKind::U1, bonds, Some(sectors), Some(entries), values)
        }
    };
    let header = Header {
        format: FILE_FORMAT.into(),
        version: FILE_VERSION,
        engine,
        n: saved.n,
        bonds,
        centre: saved.centre,
        qubit_at_site: saved.qubit_at_site,
        home: saved.home,
        truncation: saved.truncation,
        routing: saved.routing,
        statistics: saved.statistics,
        real: saved.real,
        sectors,
        blocks,
    };
    (header, arrays)
}

/// Read a state of storage `S` from `path`; every failure is a typed error naming the file.
pub(crate) fn load<S: SiteStorage + PersistSites>(path: &Path) -> Result<Chain<S>> {
    let open = || std::fs::File::open(path);
    let file = open().map_err(|e| Error::io(path, e))?;
    let file_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    drop(file);
    load_from(open, file_len, path)
}

/// Read a state of storage `S` from the `file_len` bytes that `open` gives (each call a new
/// reader at the start); `path` names them in errors.
fn load_from<S: SiteStorage + PersistSites, R: Read + Seek>(
    open: impl Fn() -> std::io::Result<R>,
    file_len: u64,
    path: &Path,
) -> Result<Chain<S>> {
    let corrupt = |reason: String| Error::CorruptFile {
        path: path.to_path_buf(),
        reason,
    };
    let mut file = open().map_err(|e| Error::io(path, e))?;
    let mut start = Vec::with_capacity(8);
    (&mut file)
        .take(8)
        .read_to_end(&mut start)
        .and_then(|_| file.seek(SeekFrom::Start(0)))
        .map_err(|e| Error::io(path, e))?;
    check_leading_bytes::<S>(&start, path)?;
    let mut archive = ZipArchive::new(BufReader::new(file)).map_err(|e| {
        corrupt(format!(
            "truncated or damaged: not a complete zip (.npz) archive ({e}); the file was cut short or modified after saving"
        ))
    })?;
    check_archive_end(open, path, file_len, archive.comment().len())?;
    let json = read_header_json(&mut archive).map_err(&corrupt)?;
    let header = parse_header::<S>(&json, path)?;
    drop(json);
    let specs = check_header(&header).map_err(|e| corrupt(format!("inconsistent state: {e}")))?;
    check_budget::<S>(&header, &specs, file_len).map_err(&corrupt)?;
    if archive.len() != specs.len() + 1 {
        return Err(corrupt(format!(
            "the archive holds {} members, but its header lists {} arrays (plus the header member itself)",
            archive.len(),
            specs.len()
        )));
    }
    let mut arrays = Vec::with_capacity(specs.len());
    for spec in &specs {
        let numbers: u64 = spec.shape.iter().map(|&d| d as u64).product();
        let values =
            read_values(&mut archive, &spec.name, numbers * 16, &spec.shape).map_err(&corrupt)?;
        if !values.all_finite() {
            return Err(corrupt(format!(
                "array `{}` holds NaN or infinite values",
                spec.name
            )));
        }
        arrays.push(values);
    }
    Ok(Chain::from_saved(join(header, arrays)))
}

/// Refuse version-1 (bincode) files, files that are not zip archives, and files too short
/// to be one, before the zip reader looks at them.
fn check_leading_bytes<S: PersistSites>(start: &[u8], path: &Path) -> Result<()> {
    let corrupt = |reason: String| Error::CorruptFile {
        path: path.to_path_buf(),
        reason,
    };
    for (magic, kind) in [
        (FILE_MAGIC, EngineKind::Dense),
        (LEGACY_U1_MAGIC, EngineKind::U1),
    ] {
        if start == magic {
            return Err(Error::LegacyStateFile {
                path: path.to_path_buf(),
                kind: kind.label(),
                current: FILE_VERSION,
            });
        }
    }
    if start.len() < ZIP_MAGIC.len() && ZIP_MAGIC.starts_with(start) {
        return Err(corrupt(format!(
            "truncated: {} bytes, too short for a state file (an .npz archive)",
            start.len()
        )));
    }
    if !start.starts_with(&ZIP_MAGIC) {
        return Err(corrupt(format!(
            "not an MPS state file (it is not an .npz archive); pass a file written by {}::save",
            match S::ENGINE {
                EngineKind::Dense => "Mps",
                EngineKind::U1 => "U1Mps",
            }
        )));
    }
    Ok(())
}

/// Refuse bytes after the archive (zip readers skip them, but [`save`] never writes them:
/// the file was appended to). A zip ends with its end-of-central-directory record: the
/// signature `PK\x05\x06`, 18 more bytes, then the archive comment.
fn check_archive_end<R: Read + Seek>(
    open: impl Fn() -> std::io::Result<R>,
    path: &Path,
    file_len: u64,
    comment_len: usize,
) -> Result<()> {
    const END_RECORD: u64 = 22;
    let at = file_len.checked_sub(END_RECORD + comment_len as u64);
    let mut signature = [0u8; 4];
    if let Some(at) = at {
        let mut file = open().map_err(|e| Error::io(path, e))?;
        file.seek(SeekFrom::Start(at))
            .and_then(|_| file.read_exact(&mut signature))
            .map_err(|e| Error::io(path, e))?;
    }
    if signature != *b"PK\x05\x06" {
        return Err(Error::CorruptFile {
            path: path.to_path_buf(),
            reason: "corrupt: unexpected bytes after the end of the archive (the file was appended to after saving)".into(),
        });
    }
    Ok(())
}

/// The header of a state file of storage `S`: format, version and engine checked.
fn parse_header<S: PersistSites>(json: &[u8], path: &Path) -> Result<Header> {
    let corrupt = |reason: String| Error::CorruptFile {
        path: path.to_path_buf(),
        reason,
    };
    let preamble: Preamble = serde_json::from_slice(json)
        .map_err(|e| corrupt(format!("corrupt: the header is not valid JSON: {e}")))?;
    if preamble.format.as_deref() != Some(FILE_FORMAT) {
        return Err(corrupt(format!(
            "not an MPS state file: the header's format is {}, not \"{FILE_FORMAT}\"",
            preamble
                .format
                .map_or("missing".into(), |f| format!("\"{f}\""))
        )));
    }
    match preamble.version {
        Some(FILE_VERSION) => {}
        Some(found) => {
            return Err(Error::UnsupportedFileVersion {
                path: path.to_path_buf(),
                kind: "MPS state",
                found,
                supported: FILE_VERSION,
            })
        }
        None => return Err(corrupt("corrupt: the header has no version".into())),
    }
    let header: Header = serde_json::from_slice(json).map_err(|e| {
        corrupt(format!(
            "corrupt: the header does not match the format: {e}"
        ))
    })?;
    if header.engine != S::ENGINE {
        return Err(corrupt(format!(
            "this is a {} file; {}",
            header.engine.label(),
            header.engine.how_to_load()
        )));
    }
    Ok(header)
}

/// Validate everything in `h` that does not need the arrays and list the arrays it
/// announces, each with its shape.
fn check_header(h: &Header) -> std::result::Result<Vec<ArraySpec>, String> {
    let n = h.n;
    if n == 0 {
        return Err("0 qubits".into());
    }
    if h.centre >= n {
        return Err(format!("orthogonality centre {} outside 0..{n}", h.centre));
    }
    SiteOrdering::Custom(h.qubit_at_site.clone())
        .qubit_at_site(n)
        .map_err(|e| format!("qubit_at_site: {e}"))?;
    SiteOrdering::Custom(h.home.clone())
        .qubit_at_site(n)
        .map_err(|e| format!("home layout: {e}"))?;
    h.truncation.validate().map_err(|e| e.to_string())?;
    if h.statistics.discarded_per_bond.len() != n - 1 {
        return Err(format!(
            "truncation statistics list {} bonds, not {}",
            h.statistics.discarded_per_bond.len(),
            n - 1
        ));
    }
    if h.bonds.len() != n + 1 || h.bonds[0] != 1 || h.bonds.contains(&0) {
        return Err(format!(
            "{} bond dimensions for {n} sites (need {}, none 0, the first 1)",
            h.bonds.len(),
            n + 1
        ));
    }
    match (h.engine, &h.sectors, &h.blocks) {
        (EngineKind::Dense, None, None) => dense_specs(h),
        (EngineKind::U1, Some(sectors), Some(blocks)) => u1_specs(h, sectors, blocks),
        _ => Err(format!(
            "a {} header {} `sectors` and `blocks`",
            h.engine.label(),
            if h.engine == EngineKind::Dense {
                "has no"
            } else {
                "needs"
            }
        )),
    }
}

fn dense_specs(h: &Header) -> std::result::Result<Vec<ArraySpec>, String> {
    if h.bonds[h.n] != 1 {
        return Err(format!(
            "the last bond has dimension {}, not 1",
            h.bonds[h.n]
        ));
    }
    Ok(h.bonds
        .windows(2)
        .enumerate()
        .map(|(s, w)| ArraySpec {
            name: site_array(s),
            shape: vec![w[0], 2, w[1]],
        })
        .collect())
}

fn u1_specs(
    h: &Header,
    sectors: &[Vec<[usize; 2]>],
    blocks: &[BlockEntry],
) -> std::result::Result<Vec<ArraySpec>, String> {
    let n = h.n;
    if sectors.len() != n + 1 {
        return Err(format!("{} bonds of sectors for {n} sites", sectors.len()));
    }
    for (bond, list) in sectors.iter().enumerate() {
        let increasing = list.windows(2).all(|w| w[0][0] < w[1][0]);
        if !increasing || list.iter().any(|&[q, d]| q > n || d == 0) {
            return Err(format!(
                "bond {bond}: sectors must have increasing charges in 0..={n} and dimensions ≥ 1"
            ));
        }
        let total = list
            .iter()
            .try_fold(0usize, |acc, &[_, d]| acc.checked_add(d));
        if total != Some(h.bonds[bond]) {
            return Err(format!(
                "bond {bond} has dimension {} but its sectors add up to {}",
                h.bonds[bond],
                total.map_or("more than 2^64".into(), |t| t.to_string())
            ));
        }
    }
    if sectors[0] != [[0, 1]] {
        return Err("the left boundary must be one charge-0 state".into());
    }
    if sectors[n].iter().any(|&[_, d]| d != 1) {
        return Err("right-boundary sectors must have dimension 1".into());
    }
    let dim = |bond: usize, charge: usize| -> Option<usize> {
        let list = &sectors[bond];
        list.binary_search_by_key(&charge, |s| s[0])
            .ok()
            .map(|i| list[i][1])
    };
    let mut seen = HashSet::with_capacity(blocks.len());
    blocks
        .iter()
        .map(|b| {
            let (site, charge, bit) = (b.site, b.charge, b.bit);
            if site >= n || bit > 1 {
                return Err(format!(
                    "block `{}`: site {site} or bit {bit} out of range",
                    b.array
                ));
            }
            if b.array != block_array(site, charge, bit) || !seen.insert((site, charge, bit)) {
                return Err(format!(
                    "block `{}` of site {site}, charge {charge}, bit {bit} is misnamed or listed twice",
                    b.array
                ));
            }
            let right = charge.checked_add(bit).and_then(|q| dim(site + 1, q));
            match (dim(site, charge), right) {
                (Some(rows), Some(cols)) => Ok(ArraySpec {
                    name: b.array.clone(),
                    shape: vec![rows, cols],
                }),
                _ => Err(format!(
                    "block `{}` joins sectors that its bonds do not have",
                    b.array
                )),
            }
        })
        .collect()
}

/// Refuse a header whose arrays could not be in a file of `file_len` bytes, or whose state
/// would not fit in the memory available, before anything is allocated for it.
fn check_budget<S: SiteStorage + PersistSites>(
    h: &Header,
    specs: &[ArraySpec],
    file_len: u64,
) -> std::result::Result<(), String> {
    let numbers = specs.iter().try_fold(0u64, |acc, s| {
        s.shape
            .iter()
            .try_fold(1u64, |p, &d| p.checked_mul(d as u64))
            .and_then(|p| acc.checked_add(p))
    });
    let fits_file = numbers
        .and_then(|k| k.checked_mul(8))
        .filter(|&b| b <= file_len);
    let Some(numbers) = numbers.filter(|_| fits_file.is_some()) else {
        return Err(format!(
            "corrupt: the header announces more numbers than the {file_len}-byte file can hold"
        ));
    };
    let needed = numbers
        .saturating_mul(16)
        .saturating_add(Chain::<S>::bookkeeping_bytes(h.n));
    let budget = crate::statevector::available_memory().unwrap_or(FALLBACK_MEMORY_BUDGET);
    if needed > budget {
        return Err(format!(
            "the state needs {} of memory but only {} is available (the header is damaged or hostile, or the state is too large for this machine)",
            format_bytes(needed as f64),
            format_bytes(budget as f64)
        ));
    }
    Ok(())
}

/// The JSON bytes of the header member (a 1-d `uint8` array).
fn read_header_json<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
) -> std::result::Result<Vec<u8>, String> {
    let bytes = member_bytes(archive, HEADER_ARRAY, MAX_HEADER_BYTES)?;
    check_npy_header(&bytes, HEADER_ARRAY, None)?;
    parse_npy::<u8>(&bytes).map_err(|e| format!("array `{HEADER_ARRAY}`: {e}"))
}

/// The numbers of array `name` (`float64` or `complex128`), whose shape must be `shape`.
fn read_values<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    name: &str,
    max_data_bytes: u64,
    shape: &[usize],
) -> std::result::Result<Values<'static>, String> {
    let bytes = member_bytes(archive, name, max_data_bytes)?;
    check_npy_header(&bytes, name, Some(shape))?;
    match parse_npy::<f64>(&bytes) {
        Ok(v) => Ok(Values::Real(Cow::Owned(v))),
        Err(ReadNpyError::WrongDescriptor(_)) => parse_npy::<C64>(&bytes)
            .map(|v| Values::Complex(Cow::Owned(v)))
            .map_err(|e| match e {
                ReadNpyError::WrongDescriptor(d) => {
                    format!("array `{name}` has dtype {d}; state files hold float64 or complex128")
                }
                e => format!("array `{name}`: {e}"),
            }),
        Err(e) => Err(format!("array `{name}`: {e}")),
    }
}

/// The raw bytes of member `{name}.npy`, which must be stored (not compressed) and at most
/// `max_data_bytes` plus an `.npy` header long. The zip reader checks the member's CRC-32
/// once it has read it to its end.
fn member_bytes<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    name: &str,
    max_data_bytes: u64,
) -> std::result::Result<Vec<u8>, String> {
    let member_name = format!("{name}.npy");
    let Some(index) = archive.index_for_name(&member_name) else {
        return Err(format!("the archive has no array `{name}`"));
    };
    let unreadable = |e: zip::result::ZipError| format!("array `{name}`: {e}");
    // Its metadata first: the zip reader refuses methods it cannot inflate at `by_index`.
    let (method, size, stored_size) = {
        let raw = archive.by_index_raw(index).map_err(unreadable)?;
        (raw.compression(), raw.size(), raw.compressed_size())
    };
    if method != CompressionMethod::Stored {
        return Err(format!(
            "array `{name}` is compressed ({method}); state files store their arrays uncompressed (as numpy.savez does, not numpy.savez_compressed)"
        ));
    }
    let limit = max_data_bytes.saturating_add(MAX_NPY_HEADER_BYTES);
    if size > limit {
        return Err(format!(
            "array `{name}` takes {size} bytes, more than the {limit} its shape allows"
        ));
    }
    if stored_size != size {
        return Err(format!(
            "array `{name}` is stored in {stored_size} bytes but announces {size} (a stored member has one size)"
        ));
    }
    let mut member = archive.by_index(index).map_err(unreadable)?;
    let mut bytes = Vec::with_capacity(size as usize);
    // One byte past the limit, so that the zip reader reaches the member's end (where it
    // checks the CRC) instead of `take` stopping first.
    (&mut member)
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| {
            format!("array `{name}` cannot be read: {e} (the file was damaged or modified after saving)")
        })?;
    if bytes.len() as u64 != size {
        return Err(format!(
            "array `{name}` holds {} bytes, not the {size} the archive announces",
            bytes.len()
        ));
    }
    Ok(bytes)
}

/// Check what an `.npy` member announces before ndarray-npy allocates it: ndarray-npy
/// allocates the header length the preamble announces, then the array its header
/// announces, before reading either. The preamble (6-byte magic, 2-byte version, header
/// length as `u16` for version 1 and `u32` for versions 2 and 3, little-endian; the `.npy`
/// format specification) is read here, hand-written because no crate exposes it without
/// the allocation; the header dictionary is then parsed by ndarray-npy. The array must
/// have `shape`, or be 1-d and fit in the member if `shape` is `None`.
fn check_npy_header(
    bytes: &[u8],
    name: &str,
    shape: Option<&[usize]>,
) -> std::result::Result<(), String> {
    let bad = |what: String| format!("array `{name}` is not a valid .npy array: {what}");
    let announced = match bytes.get(6) {
        Some(1) => bytes
            .get(8..10)
            .map(|b| usize::from(u16::from_le_bytes([b[0], b[1]]))),
        Some(2 | 3) => bytes
            .get(8..12)
            .and_then(|b| usize::try_from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])).ok()),
        _ => None,
    };
    if announced.is_none_or(|len| len > bytes.len()) {
        return Err(bad("its preamble is damaged".into()));
    }
    let header = ndarray_npy::npy::header::Header::from_reader(&mut &bytes[..])
        .map_err(|e| bad(e.to_string()))?;
    match shape {
        Some(want) if header.shape != want => Err(format!(
            "array `{name}` has shape {:?} but the header's bonds need {want:?}",
            header.shape
        )),
        None if header.shape.len() != 1 || header.shape[0] > bytes.len() => Err(bad(format!(
            "shape {:?} (a 1-d byte array is expected)",
            header.shape
        ))),
        _ => Ok(()),
    }
}

/// An `.npy` array read with ndarray-npy (after [`check_npy_header`]), flattened in the
/// engines' order (first index fastest) whatever the file's memory order.
fn parse_npy<A: ReadableElement + Clone>(
    bytes: &[u8],
) -> std::result::Result<Vec<A>, ReadNpyError> {
    let array = ArrayD::<A>::read_npy(bytes)?;
    let reversed = array.reversed_axes();
    Ok(if reversed.is_standard_layout() {
        reversed.into_raw_vec_and_offset().0
    } else {
        reversed.iter().cloned().collect()
    })
}

/// The saved state of a validated header and its arrays (in [`check_header`] order).
fn join(header: Header, arrays: Vec<Values<'static>>) -> SavedState<'static> {
    let tensors = match (header.sectors, header.blocks) {
        (Some(sectors), Some(entries)) => SavedTensors::U1 {
            sectors,
            blocks: entries
                .into_iter()
                .zip(arrays)
                .map(|(e, values)| SavedBlock {
                    site: e.site,
                    charge: e.charge,
                    bit: e.bit,
                    values,
                })
                .collect(),
        },
        _ => SavedTensors::Dense {
            bonds: header.bonds,
            sites: arrays,
        },
    };
    SavedState {
        n: header.n,
        centre: header.centre,
        qubit_at_site: header.qubit_at_site,
        home: header.home,
        truncation: header.truncation,
        routing: header.routing,
        statistics: header.statistics,
        real: header.real,
        tensors,
    }
}

#[cfg(test)]
mod tests;
