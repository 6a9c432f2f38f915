//! Hostile, damaged and old-format state files, crafted member by member; the round trip
//! compared as plain data (bit for bit).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use bfly_core::circuit::gate::{rbs_matrix, ry_matrix, rz_matrix};
use bfly_core::circuit::BoundGate;
use bfly_core::{BitString, Error};
use ndarray::{Array1, Array3};
use ndarray_npy::WriteNpyExt;
use num_complex::Complex64 as C64;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use super::{PersistSites, FILE_MAGIC, FILE_VERSION, LEGACY_U1_MAGIC};
use crate::mps::chain::{Chain, SiteStorage};
use crate::mps::u1::U1Mps;
use crate::mps::{Mps, MpsConfig};
use crate::Simulator;

fn two(qubits: [usize; 2], theta: f64) -> BoundGate {
    BoundGate::Two {
        qubits,
        matrix: rbs_matrix(theta),
    }
}

/// A dense state with bonds > 1, complex if `complex`.
fn dense(complex: bool) -> Mps {
    let mut psi = Mps::new(5, &MpsConfig::new(8, 0.0).unwrap()).unwrap();
    for q in 0..5 {
        psi.apply(&BoundGate::One {
            qubit: q,
            matrix: ry_matrix(0.3 + 0.2 * q as f64),
        })
        .unwrap();
    }
    if complex {
        psi.apply(&BoundGate::One {
            qubit: 2,
            matrix: rz_matrix(0.9),
        })
        .unwrap();
    }
    for (k, qubits) in [[0, 1], [1, 2], [2, 3], [3, 4], [0, 4], [1, 3]]
        .iter()
        .enumerate()
    {
        psi.apply(&two(*qubits, 0.4 + 0.3 * k as f64)).unwrap();
    }
    assert_eq!(psi.is_real(), !complex);
    psi
}

/// A weight-2 U(1) state with several sectors per bond, complex if `complex`.
fn u1(complex: bool) -> U1Mps {
    let bits = BitString::from_ones(6, &[0, 3]).unwrap();
    let mut psi = U1Mps::from_bits(&bits, &MpsConfig::new(8, 0.0).unwrap()).unwrap();
    for (k, qubits) in [[0, 1], [3, 4], [1, 2], [4, 5], [0, 5], [2, 3]]
        .iter()
        .enumerate()
    {
        psi.apply(&two(*qubits, 0.5 + 0.2 * k as f64)).unwrap();
        if complex && k == 2 {
            psi.apply(&BoundGate::One {
                qubit: 1,
                matrix: rz_matrix(0.7),
            })
            .unwrap();
        }
    }
    assert_eq!(psi.is_real(), !complex);
    psi
}

fn saved_file<S: SiteStorage + PersistSites>(state: &Chain<S>, dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    super::save(state, &path).unwrap();
    path
}

/// Every member of the archive at `path`, in order, as raw `.npy` bytes.
fn members(path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut archive = ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut m = archive.by_index(i).unwrap();
            let mut bytes = Vec::new();
            m.read_to_end(&mut bytes).unwrap();
            (m.name().to_string(), bytes)
        })
        .collect()
}

/// A stored zip of `members`.
fn archive(members: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut zip = ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    for (name, bytes) in members {
        zip.start_file(name.as_str(), options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

fn npy<T: WriteNpyExt>(array: &T) -> Vec<u8> {
    let mut bytes = Vec::new();
    array.write_npy(&mut bytes).unwrap();
    bytes
}

fn header_json(members: &[(String, Vec<u8>)]) -> serde_json::Value {
    let bytes = &members[0].1;
    assert_eq!(members[0].0, "header.npy");
    let array = Array1::<u8>::read_npy_bytes(bytes);
    serde_json::from_slice(array.as_slice().unwrap()).unwrap()
}

trait ReadBytes {
    fn read_npy_bytes(bytes: &[u8]) -> Self;
}

impl ReadBytes for Array1<u8> {
    fn read_npy_bytes(bytes: &[u8]) -> Self {
        use ndarray_npy::ReadNpyExt;
        Array1::<u8>::read_npy(bytes).unwrap()
    }
}

/// An edit of a JSON header.
type HeaderChange = Box<dyn Fn(&mut serde_json::Value)>;

/// `members` with the header replaced by `header`.
fn with_header(members: &[(String, Vec<u8>)], header: &serde_json::Value) -> Vec<u8> {
    let mut members = members.to_vec();
    members[0].1 = npy(&Array1::from(serde_json::to_vec(header).unwrap()));
    archive(&members)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// The reason of a `CorruptFile` error from loading `path` as a dense MPS, checked to name
/// the file.
fn dense_reason(path: &Path) -> String {
    match Mps::load(path) {
        Err(Error::CorruptFile { path: p, reason }) => {
            assert_eq!(p, path);
            reason
        }
        other => panic!("{path:?}: expected CorruptFile, got {other:?}"),
    }
}

fn u1_reason(path: &Path) -> String {
    match U1Mps::load(path) {
        Err(Error::CorruptFile { reason, .. }) => reason,
        other => panic!("{path:?}: expected CorruptFile, got {other:?}"),
    }
}

#[test]
fn both_engines_round_trip_bit_exactly_as_plain_data() {
    let dir = tempfile::tempdir().unwrap();
    for complex in [false, true] {
        let psi = dense(complex);
        let path = saved_file(&psi, dir.path(), "dense.npz");
        let back = Mps::load(&path).unwrap();
        assert_eq!(back.to_saved(), psi.to_saved());
        assert_eq!(back.is_real(), psi.is_real());
        for s in 0..5 {
            let (a, b) = (back.site_tensor(s).unwrap(), psi.site_tensor(s).unwrap());
            assert_eq!(a.1, b.1);
            let bits = |t: &[C64]| -> Vec<(u64, u64)> {
                t.iter().map(|z| (z.re.to_bits(), z.im.to_bits())).collect()
            };
            assert_eq!(bits(a.0), bits(b.0));
        }
        let psi = u1(complex);
        let path = saved_file(&psi, dir.path(), "u1.npz");
        let back = U1Mps::load(&path).unwrap();
        assert_eq!(back.to_saved(), psi.to_saved());
        assert_eq!(back.is_real(), psi.is_real());
        assert_eq!(back.tensor_bytes(), psi.tensor_bytes());
    }
}

#[test]
fn real_states_are_stored_as_float64_and_complex_ones_as_complex128() {
    let dir = tempfile::tempdir().unwrap();
    for complex in [false, true] {
        let path = saved_file(&dense(complex), dir.path(), "d.npz");
        let m = members(&path);
        let descr = if complex { "'<c16'" } else { "'<f8'" };
        for (name, bytes) in &m[1..] {
            let text = String::from_utf8_lossy(&bytes[..128]);
            assert!(text.contains(descr), "{name}: {text}");
            assert!(text.contains("'fortran_order': True"), "{name}: {text}");
        }
        assert_eq!(header_json(&m)["real"], !complex);
    }
}

#[test]
fn old_bincode_files_are_refused_with_how_to_make_a_new_one() {
    let dir = tempfile::tempdir().unwrap();
    for (magic, kind) in [(FILE_MAGIC, "dense MPS"), (LEGACY_U1_MAGIC, "U(1) MPS")] {
        // A version-1 header: magic, version 1, payload length, checksum, payload.
        let mut old = magic.to_vec();
        old.extend_from_slice(&1u32.to_le_bytes());
        old.extend_from_slice(&4u64.to_le_bytes());
        old.extend_from_slice(&0x1234_5678_9abc_def0u64.to_le_bytes());
        old.extend_from_slice(&[1, 2, 3, 4]);
        let path = write(dir.path(), "old.mps", &old);
        for err in [
            Mps::load(&path).unwrap_err(),
            U1Mps::load(&path).unwrap_err(),
        ] {
            match &err {
                Error::LegacyStateFile {
                    path: p,
                    kind: k,
                    current,
                } => {
                    assert_eq!(
                        (p.as_path(), *k, *current),
                        (path.as_path(), kind, FILE_VERSION)
                    );
                }
                other => panic!("expected LegacyStateFile, got {other:?}"),
            }
            let msg = err.to_string();
            for needle in [
                "bincode",
                "earlier",
                "re-run the simulation",
                "save the state again",
            ] {
                assert!(msg.contains(needle), "{msg}");
            }
        }
    }
}

#[test]
fn short_foreign_and_cut_files_are_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = saved_file(&dense(false), dir.path(), "good.npz");
    let bytes = std::fs::read(&path).unwrap();
    for (name, data) in [("empty", &bytes[..0]), ("three", &bytes[..3])] {
        let reason = dense_reason(&write(dir.path(), name, data));
        assert!(reason.contains("truncated"), "{reason}");
    }
    for cut in [15, bytes.len() / 2, bytes.len() - 10] {
        let reason = dense_reason(&write(dir.path(), "cut", &bytes[..cut]));
        assert!(reason.contains("truncated"), "{cut}: {reason}");
    }
    let mut longer = bytes.clone();
    longer.extend_from_slice(b"junk");
    let reason = dense_reason(&write(dir.path(), "long.npz", &longer));
    assert!(reason.contains("unexpected bytes"), "{reason}");
    let reason = dense_reason(&write(
        dir.path(),
        "c.json",
        b"{\"qubits\": 2, \"ops\": []}",
    ));
    assert!(reason.contains("not an MPS state file"), "{reason}");
    // A zip that is not a state file.
    let other = archive(&[("data.npy".into(), npy(&Array1::from(vec![1.0f64, 2.0])))]);
    let reason = dense_reason(&write(dir.path(), "other.npz", &other));
    assert!(reason.contains("no array `header`"), "{reason}");
}

#[test]
fn a_flipped_byte_in_any_array_fails_its_checksum() {
    let dir = tempfile::tempdir().unwrap();
    let path = saved_file(&dense(true), dir.path(), "good.npz");
    let bytes = std::fs::read(&path).unwrap();
    let mut archive = ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
    for name in ["header.npy", "site_2.npy"] {
        let member = archive.by_name(name).unwrap();
        // Inside the data (past the 128-byte .npy header) for the tensor; the JSON for the header.
        let at = (member.data_start() + member.size() - 3) as usize;
        let mut flipped = bytes.clone();
        flipped[at] ^= 0x40;
        let reason = dense_reason(&write(dir.path(), "flipped.npz", &flipped));
        assert!(reason.contains("checksum"), "{name}: {reason}");
    }
}

#[test]
fn versions_formats_and_engines_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let path = saved_file(&dense(false), dir.path(), "good.npz");
    let m = members(&path);
    let mut header = header_json(&m);
    assert_eq!(header["format"], "butterfly-mps-state");
    assert_eq!(header["version"], FILE_VERSION);
    header["version"] = (FILE_VERSION + 1).into();
    let future = write(dir.path(), "future.npz", &with_header(&m, &header));
    match Mps::load(&future).unwrap_err() {
        Error::UnsupportedFileVersion {
            found, supported, ..
        } => assert_eq!((found, supported), (FILE_VERSION + 1, FILE_VERSION)),
        other => panic!("expected a version error, got {other:?}"),
    }
    let mut header = header_json(&m);
    header["format"] = "something-else".into();
    let reason = dense_reason(&write(dir.path(), "f.npz", &with_header(&m, &header)));
    assert!(reason.contains("not an MPS state file"), "{reason}");
    let mut header = header_json(&m);
    header["surprise"] = 1.into();
    let reason = dense_reason(&write(dir.path(), "x.npz", &with_header(&m, &header)));
    assert!(reason.contains("surprise"), "{reason}");
    // Each engine refuses the other's files and says which loader to use.
    let reason = u1_reason(&path);
    assert!(
        reason.contains("dense MPS file") && reason.contains("Mps::load"),
        "{reason}"
    );
    let u1_path = saved_file(&u1(false), dir.path(), "u1.npz");
    let reason = dense_reason(&u1_path);
    assert!(
        reason.contains("U(1) MPS file") && reason.contains("U1Mps::load"),
        "{reason}"
    );
}

#[test]
fn inconsistent_headers_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let m = members(&saved_file(&dense(false), dir.path(), "good.npz"));
    let good = header_json(&m);
    let cases: Vec<(&str, HeaderChange)> = vec![
        (
            "qubit_at_site",
            Box::new(|h| h["qubit_at_site"] = serde_json::json!([0, 0, 1, 2, 3])),
        ),
        (
            "home layout",
            Box::new(|h| h["home"] = serde_json::json!([0, 1, 2])),
        ),
        ("centre", Box::new(|h| h["centre"] = 5.into())),
        (
            "bond dimensions",
            Box::new(|h| h["bonds"] = serde_json::json!([1, 2, 1])),
        ),
        ("last bond", Box::new(|h| h["bonds"][5] = 2.into())),
        (
            "statistics",
            Box::new(|h| {
                h["statistics"]["discarded_weight_per_bond"] = serde_json::json!([0.0]);
            }),
        ),
        (
            "truncation",
            Box::new(|h| h["truncation"]["max_bond"] = 0.into()),
        ),
        ("0 qubits", Box::new(|h| h["n"] = 0.into())),
        (
            "sectors",
            Box::new(|h| h["sectors"] = serde_json::json!([])),
        ),
        (
            "shape",
            Box::new(|h| {
                let b = h["bonds"][2].as_u64().unwrap();
                h["bonds"][2] = (b + 1).into();
            }),
        ),
    ];
    for (needle, change) in cases {
        let mut header = good.clone();
        change(&mut header);
        let reason = dense_reason(&write(dir.path(), "bad.npz", &with_header(&m, &header)));
        assert!(reason.contains(needle), "{needle}: {reason}");
    }
}

#[test]
fn inconsistent_u1_sectors_and_blocks_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let m = members(&saved_file(&u1(false), dir.path(), "good.npz"));
    let good = header_json(&m);
    assert!(good["blocks"].as_array().unwrap().len() > 10);
    let cases: Vec<(&str, HeaderChange)> = vec![
        (
            "left boundary",
            Box::new(|h| {
                h["sectors"][0] = serde_json::json!([[1, 1]]);
            }),
        ),
        ("add up", Box::new(|h| h["bonds"][2] = 99.into())),
        (
            "increasing",
            Box::new(|h| {
                let mut s = h["sectors"][3].as_array().unwrap().clone();
                s.reverse();
                h["sectors"][3] = s.into();
            }),
        ),
        (
            "misnamed or listed twice",
            Box::new(|h| {
                let first = h["blocks"][0].clone();
                h["blocks"].as_array_mut().unwrap().push(first);
            }),
        ),
        (
            "misnamed",
            Box::new(|h| h["blocks"][1]["array"] = "site_0".into()),
        ),
        (
            "out of range",
            Box::new(|h| h["blocks"][1]["bit"] = 2.into()),
        ),
        (
            "do not have",
            Box::new(|h| {
                h["blocks"][1]["charge"] = 6.into();
                h["blocks"][1]["array"] = format!(
                    "block_{}_6_{}",
                    h["blocks"][1]["site"], h["blocks"][1]["bit"]
                )
                .into();
            }),
        ),
        (
            "needs",
            Box::new(|h| {
                h.as_object_mut().unwrap().remove("blocks");
            }),
        ),
    ];
    for (needle, change) in cases {
        let mut header = good.clone();
        change(&mut header);
        let reason = u1_reason(&write(dir.path(), "bad.npz", &with_header(&m, &header)));
        assert!(reason.contains(needle), "{needle}: {reason}");
    }
}

#[test]
fn hostile_sizes_are_refused_before_allocating() {
    let dir = tempfile::tempdir().unwrap();
    let m = members(&saved_file(&dense(false), dir.path(), "good.npz"));
    let good = header_json(&m);
    // Bonds announcing 2^80 numbers, and (without overflow) 2^41.
    for bond in [1u64 << 40, 1 << 20] {
        let mut h = good.clone();
        h["bonds"] = serde_json::json!([1, bond, bond, bond, bond, 1]);
        let reason = dense_reason(&write(dir.path(), "big.npz", &with_header(&m, &h)));
        assert!(reason.contains("more numbers than"), "{reason}");
    }
    // A U(1) header of 10^6 qubits with no blocks: tiny numbers, but tables of ~10^13 bytes.
    let um = members(&saved_file(&u1(false), dir.path(), "u1.npz"));
    let mut h = header_json(&um);
    let n = 1_000_000usize;
    h["n"] = n.into();
    h["centre"] = 0.into();
    h["qubit_at_site"] = (0..n).collect::<Vec<_>>().into();
    h["home"] = h["qubit_at_site"].clone();
    h["bonds"] = vec![1; n + 1].into();
    h["sectors"] = vec![serde_json::json!([[0, 1]]); n + 1].into();
    h["blocks"] = serde_json::json!([]);
    h["statistics"]["discarded_weight_per_bond"] = vec![0.0; n - 1].into();
    let only_header = vec![um[0].clone()];
    let reason = u1_reason(&write(
        dir.path(),
        "wide.npz",
        &with_header(&only_header, &h),
    ));
    assert!(reason.contains("of memory"), "{reason}");
}

#[test]
fn hostile_and_damaged_arrays_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let psi = dense(false);
    let m = members(&saved_file(&psi, dir.path(), "good.npz"));
    let site = m.iter().position(|(n, _)| n == "site_2.npy").unwrap();
    let (chi_l, chi_r) = psi.site_tensor(2).unwrap().1;
    let replace = |bytes: Vec<u8>| {
        let mut m = m.clone();
        m[site].1 = bytes;
        archive(&m)
    };
    // Wrong shape, NaN, wrong dtype.
    let wrong = npy(&Array3::<f64>::zeros((chi_l, 2, chi_r + 1)));
    let reason = dense_reason(&write(dir.path(), "shape.npz", &replace(wrong)));
    assert!(reason.contains("has shape"), "{reason}");
    let mut nan = Array3::<f64>::zeros((chi_l, 2, chi_r));
    nan[[0, 1, 0]] = f64::NAN;
    let reason = dense_reason(&write(dir.path(), "nan.npz", &replace(npy(&nan))));
    assert!(reason.contains("NaN"), "{reason}");
    let ints = npy(&Array3::<i64>::zeros((chi_l, 2, chi_r)));
    let reason = dense_reason(&write(dir.path(), "int.npz", &replace(ints)));
    assert!(reason.contains("float64 or complex128"), "{reason}");
    // A C-order array (as numpy writes by default) loads like the Fortran-order original.
    let (data, _) = psi.site_tensor(2).unwrap();
    let c_order = Array3::from_shape_fn((chi_l, 2, chi_r), |(l, s, r)| {
        data[l + chi_l * (s + 2 * r)].re
    });
    let path = write(dir.path(), "c.npz", &replace(npy(&c_order)));
    assert_eq!(Mps::load(&path).unwrap().to_saved(), psi.to_saved());
    // An .npy preamble announcing a 4 GiB header dictionary (version 2), and a header
    // dictionary announcing a shape of 2^60 numbers.
    let mut huge_header = m[site].1.clone();
    huge_header[6] = 2;
    huge_header.splice(8..10, [0xff, 0xff, 0xff, 0xff]);
    let reason = dense_reason(&write(dir.path(), "pre.npz", &replace(huge_header)));
    assert!(reason.contains("preamble"), "{reason}");
    let original = &m[site].1;
    let dict = std::str::from_utf8(&original[10..128]).unwrap();
    let shape = format!("({chi_l}, 2, {chi_r})");
    assert!(dict.contains(&shape), "{dict}");
    let hostile = dict.replacen(&shape, "(1073741824, 1073741824, 2)", 1);
    // Same dictionary length (the preamble announces it): drop as many padding spaces.
    let hostile = format!("{:<117}\n", hostile.trim_end());
    assert_eq!(hostile.len(), dict.len());
    let mut bytes = original.clone();
    bytes.splice(10..128, hostile.bytes());
    let reason = dense_reason(&write(dir.path(), "hostile.npz", &replace(bytes)));
    assert!(
        reason.contains("has shape [1073741824, 1073741824, 2]"),
        "{reason}"
    );
    // A member marked deflated (method 8 in its local and central headers).
    let whole = archive(&m);
    let mut deflated = whole.clone();
    let name = b"site_2.npy";
    for (signature, method_at) in [(b"PK\x03\x04", 8), (b"PK\x01\x02", 10)] {
        let header = (0..whole.len() - 46)
            .find(|&i| {
                whole[i..].starts_with(signature)
                    && whole[i..i + 64].windows(name.len()).any(|w| w == name)
            })
            .unwrap();
        deflated[header + method_at] = 8;
    }
    let reason = dense_reason(&write(dir.path(), "deflated.npz", &deflated));
    assert!(
        reason.contains("`site_2` is compressed") && reason.contains("savez_compressed"),
        "{reason}"
    );
    // Missing and extra members.
    let mut fewer = m.clone();
    fewer.remove(site);
    let reason = dense_reason(&write(dir.path(), "fewer.npz", &archive(&fewer)));
    assert!(reason.contains("members"), "{reason}");
    let mut more = m.clone();
    more.push(("extra.npy".into(), npy(&Array1::from(vec![1.0f64]))));
    let reason = dense_reason(&write(dir.path(), "more.npz", &archive(&more)));
    assert!(reason.contains("members"), "{reason}");
    let mut renamed = m.clone();
    renamed[site].0 = "site_9.npy".into();
    let reason = dense_reason(&write(dir.path(), "renamed.npz", &archive(&renamed)));
    assert!(reason.contains("no array `site_2`"), "{reason}");
}

#[test]
fn states_that_could_not_be_loaded_are_not_saved() {
    let dir = tempfile::tempdir().unwrap();
    let mut psi = dense(true);
    psi.sites.tensors[1][0] = C64::new(f64::NAN, 0.0);
    let path = dir.path().join("nan.npz");
    let err = psi.save(&path).unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    assert!(err.to_string().contains("NaN"), "{err}");
    assert!(!path.exists());
}

#[test]
fn bytes_in_memory_load_exactly_as_the_file() {
    let dir = tempfile::tempdir().unwrap();
    for complex in [false, true] {
        let path = saved_file(&dense(complex), dir.path(), "d.npz");
        let bytes = std::fs::read(&path).unwrap();
        let from_bytes = Mps::load_bytes(&bytes, &path).unwrap();
        assert_eq!(from_bytes.to_saved(), Mps::load(&path).unwrap().to_saved());
        let path = saved_file(&u1(complex), dir.path(), "u.npz");
        let bytes = std::fs::read(&path).unwrap();
        let from_bytes = U1Mps::load_bytes(&bytes, &path).unwrap();
        assert_eq!(
            from_bytes.to_saved(),
            U1Mps::load(&path).unwrap().to_saved()
        );
    }
    // The same typed errors, naming the source given.
    let good = std::fs::read(saved_file(&dense(false), dir.path(), "g.npz")).unwrap();
    let mut longer = good.clone();
    longer.extend_from_slice(b"junk");
    for (name, data) in [
        ("empty", &good[..0]),
        ("cut", &good[..good.len() / 2]),
        ("long", &longer[..]),
        ("legacy", &FILE_MAGIC[..]),
    ] {
        let path = write(dir.path(), name, data);
        let from_file = Mps::load(&path).unwrap_err().to_string();
        assert_eq!(
            Mps::load_bytes(data, &path).unwrap_err().to_string(),
            from_file
        );
        assert!(from_file.contains(name), "{from_file}");
    }
}
