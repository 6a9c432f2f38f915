//! MPS state files (.npz + JSON header) of both engines: bit-exact round trips, runs that
//! continue after a load exactly like uninterrupted ones, the documented layout read back
//! with ndarray-npy alone (as numpy would), old bincode files, and `bfly simulate
//! --save-state`.

mod common;
mod mps_common;

use std::fs::File;
use std::path::Path;

use butterfly_mps::circuit::loaders::Loader;
use butterfly_mps::circuit::{ButterflyWorkload, Circuit, Gate, Param};
use butterfly_mps::sim::mps::u1::{run_mps_u1, U1Mps, U1_FILE_MAGIC, U1_FILE_VERSION};
use butterfly_mps::sim::mps::TruncationReport;
use butterfly_mps::sim::mps::{Routing, SiteOrdering, FILE_MAGIC, FILE_VERSION};
use butterfly_mps::sim::{run_mps, Mps, MpsConfig, Simulator, Truncation};
use butterfly_mps::{BitString, Error};
use ndarray::{Array1, Array2, Array3};
use ndarray_npy::NpzReader;
use num_complex::Complex64 as C64;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Every amplitude as the bit patterns of its real and imaginary parts.
fn amplitude_bits(state: &dyn Simulator) -> Vec<(u64, u64)> {
    let n = state.n_qubits();
    (0..1u64 << n)
        .map(|i| {
            let a = state.amplitude(&BitString::from_index(n, i)).unwrap();
            (a.re.to_bits(), a.im.to_bits())
        })
        .collect()
}

/// Random RBS gates (real and weight-preserving) on any pair of qubits.
fn rbs_circuit(n: usize, gates: usize, seed: u64) -> Circuit {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut c = Circuit::new(n);
    for _ in 0..gates {
        let a = rng.random_range(0..n);
        let b = (a + rng.random_range(1..n)) % n;
        c.push(Gate::Rbs {
            qubits: [a, b],
            theta: Param::Fixed(rng.random::<f64>() * 3.0),
        })
        .unwrap();
    }
    c
}

fn truncating(max_bond: usize) -> MpsConfig {
    MpsConfig {
        truncation: Truncation::new(max_bond, 1e-12).unwrap(),
        ordering: SiteOrdering::BitReversed,
        routing: Routing::MoveLowerThrough,
    }
}

/// What the continuation check reads of either engine.
trait Engine: Simulator + Sized {
    fn save_to(&self, path: &Path);
    fn load_from(path: &Path) -> Self;
    fn run_more(&mut self, circuit: &Circuit);
    fn report(&self) -> TruncationReport;
    fn is_real(&self) -> bool;
    /// Layout, centre, policy and storage: everything besides amplitudes and the report.
    fn bookkeeping(&self) -> String;
}

impl Engine for Mps {
    fn save_to(&self, path: &Path) {
        self.save(path).unwrap()
    }
    fn load_from(path: &Path) -> Self {
        Mps::load(path).unwrap()
    }
    fn run_more(&mut self, c: &Circuit) {
        self.run(c, &c.parameters).unwrap()
    }
    fn report(&self) -> TruncationReport {
        Mps::report(self)
    }
    fn is_real(&self) -> bool {
        Mps::is_real(self)
    }
    fn bookkeeping(&self) -> String {
        format!(
            "{:?} {:?} {} {:?} {:?} {}",
            self.qubit_order(),
            self.home_order(),
            self.centre(),
            self.truncation(),
            self.routing(),
            self.tensor_bytes()
        )
    }
}

impl Engine for U1Mps {
    fn save_to(&self, path: &Path) {
        self.save(path).unwrap()
    }
    fn load_from(path: &Path) -> Self {
        U1Mps::load(path).unwrap()
    }
    fn run_more(&mut self, c: &Circuit) {
        self.run(c, &c.parameters).unwrap()
    }
    fn report(&self) -> TruncationReport {
        U1Mps::report(self)
    }
    fn is_real(&self) -> bool {
        U1Mps::is_real(self)
    }
    fn bookkeeping(&self) -> String {
        format!(
            "{:?} {} {:?} {}",
            self.qubit_order(),
            self.centre(),
            self.bond_sectors(),
            self.tensor_bytes()
        )
    }
}

/// Save `state`, load it, and run `second` on both: the loaded state matches bit for bit
/// before and after (amplitudes, report, layout, storage).
fn check_continuation<E: Engine>(mut uninterrupted: E, second: &Circuit, real: bool) {
    assert_eq!(uninterrupted.is_real(), real);
    assert!(
        uninterrupted.report().truncations > 0,
        "the test needs truncation"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.npz");
    uninterrupted.save_to(&path);
    let mut resumed = E::load_from(&path);
    for step in 0..2 {
        assert_eq!(amplitude_bits(&resumed), amplitude_bits(&uninterrupted));
        assert_eq!(resumed.report(), uninterrupted.report());
        assert_eq!(resumed.is_real(), uninterrupted.is_real());
        assert_eq!(resumed.bookkeeping(), uninterrupted.bookkeeping());
        if step == 0 {
            uninterrupted.run_more(second);
            resumed.run_more(second);
        }
    }
}

#[test]
fn dense_states_continue_after_a_load_exactly_like_an_uninterrupted_run() {
    let n = 8;
    // Real: an angle-loaded Butterfly, then more RBS gates.
    let first = ButterflyWorkload::full(n, Loader::Angle, 3)
        .build()
        .unwrap();
    let state = run_mps(&first, &first.parameters, &truncating(4)).unwrap();
    check_continuation(state, &rbs_circuit(n, 40, 1), true);
    // Complex: every gate type.
    let first = mps_common::random_circuit(n, 60, 2);
    let state = run_mps(&first, &first.parameters, &truncating(4)).unwrap();
    check_continuation(state, &mps_common::random_circuit(n, 60, 3), false);
}

#[test]
fn u1_states_continue_after_a_load_exactly_like_an_uninterrupted_run() {
    let n = 8;
    // Real, mixed weights (angle input), then more RBS gates.
    let first = ButterflyWorkload::full(n, Loader::Angle, 3)
        .build()
        .unwrap();
    let state = run_mps_u1(&first, &first.parameters, &truncating(4)).unwrap();
    check_continuation(state, &rbs_circuit(n, 40, 4), true);
    // Complex: weight 3, then RZ, ZZ, CZ and complex weight-preserving gates.
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let first = common::random_weight_preserving_circuit(n, 3, 60, &mut rng);
    let state = run_mps_u1(&first, &first.parameters, &truncating(4)).unwrap();
    let second = common::random_weight_preserving_circuit(n, 0, 60, &mut rng);
    check_continuation(state, &second, false);
}

/// The JSON header of the archive, read with ndarray-npy as numpy would
/// (`json.loads(z["header"].tobytes())`).
fn header(npz: &mut NpzReader<File>) -> serde_json::Value {
    let bytes: Array1<u8> = npz.by_name("header").unwrap();
    serde_json::from_slice(bytes.as_slice().unwrap()).unwrap()
}

fn as_usizes(v: &serde_json::Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

/// `site_{s}` as a complex `(χl, 2, χr)` array, whichever dtype it is stored in.
fn site_array(npz: &mut NpzReader<File>, site: usize, real: bool) -> Array3<C64> {
    let name = format!("site_{site}");
    if real {
        let a: Array3<f64> = npz.by_name(&name).unwrap();
        a.mapv(|x| C64::new(x, 0.0))
    } else {
        npz.by_name(&name).unwrap()
    }
}

#[test]
fn dense_files_hold_the_documented_arrays_read_without_the_loader() {
    let dir = tempfile::tempdir().unwrap();
    let n = 8;
    for (circuit, real) in [
        (
            ButterflyWorkload::full(n, Loader::Angle, 5)
                .build()
                .unwrap(),
            true,
        ),
        (mps_common::random_circuit(n, 50, 9), false),
    ] {
        let state = run_mps(&circuit, &circuit.parameters, &truncating(6)).unwrap();
        let path = dir.path().join("state.npz");
        state.save(&path).unwrap();
        let mut npz = NpzReader::new(File::open(&path).unwrap()).unwrap();
        let mut names = npz.names().unwrap();
        names.sort();
        let mut expected: Vec<String> = (0..n).map(|s| format!("site_{s}")).collect();
        expected.push("header".into());
        expected.sort();
        assert_eq!(names, expected);
        let h = header(&mut npz);
        let report = state.report();
        assert_eq!(h["format"], "butterfly-mps-state");
        assert_eq!(h["version"], FILE_VERSION);
        assert_eq!(h["engine"], "dense");
        assert_eq!(h["n"], n);
        let mut bonds = vec![1];
        bonds.extend(state.bond_dimensions());
        bonds.push(1);
        assert_eq!(as_usizes(&h["bonds"]), bonds);
        assert_eq!(h["centre"], state.centre());
        assert_eq!(as_usizes(&h["qubit_at_site"]), state.qubit_order());
        assert_eq!(as_usizes(&h["home"]), state.home_order());
        assert_eq!(h["truncation"]["max_bond"], 6);
        assert_eq!(h["routing"], "move-lower-through");
        assert_eq!(h["real"], real);
        let stats = &h["statistics"];
        assert_eq!(stats["truncations"], report.truncations);
        assert_eq!(stats["swaps"], report.swaps);
        assert_eq!(
            stats["total_discarded_weight"],
            report.total_discarded_weight
        );
        assert_eq!(
            stats["log_fidelity"].as_f64().unwrap().exp(),
            report.fidelity_estimate
        );
        // Every amplitude from the arrays alone: ⟨b|ψ⟩ = Π_s A_s[:, b(qubit at s), :].
        let sites: Vec<Array3<C64>> = (0..n).map(|s| site_array(&mut npz, s, real)).collect();
        for (s, a) in sites.iter().enumerate() {
            assert_eq!(a.dim(), (bonds[s], 2, bonds[s + 1]));
        }
        for i in 0..1u64 << n {
            let b = BitString::from_index(n, i);
            let mut row = Array2::from_elem((1, 1), C64::new(1.0, 0.0));
            for (s, a) in sites.iter().enumerate() {
                let bit = usize::from(b.get(state.qubit_order()[s]));
                row = row.dot(&a.index_axis(ndarray::Axis(1), bit));
            }
            let expected = state.amplitude(&b).unwrap();
            assert!((row[[0, 0]] - expected).norm() < 1e-12, "{b}");
        }
    }
}

#[test]
fn u1_files_hold_the_documented_blocks_read_without_the_loader() {
    let dir = tempfile::tempdir().unwrap();
    let n = 8;
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for (circuit, real) in [
        (
            ButterflyWorkload::full(n, Loader::Angle, 5)
                .build()
                .unwrap(),
            true,
        ),
        (
            common::random_weight_preserving_circuit(n, 3, 50, &mut rng),
            false,
        ),
    ] {
        let state = run_mps_u1(&circuit, &circuit.parameters, &truncating(6)).unwrap();
        assert_eq!(state.is_real(), real);
        let path = dir.path().join("state.npz");
        state.save(&path).unwrap();
        let mut npz = NpzReader::new(File::open(&path).unwrap()).unwrap();
        let h = header(&mut npz);
        assert_eq!(h["engine"], "u1");
        assert_eq!(h["version"], U1_FILE_VERSION);
        assert_eq!(h["real"], real);
        let sectors: Vec<Vec<(usize, usize)>> = h["sectors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|bond| {
                bond.as_array()
                    .unwrap()
                    .iter()
                    .map(|p| {
                        let p = as_usizes(p);
                        (p[0], p[1])
                    })
                    .collect()
            })
            .collect();
        assert_eq!(sectors, state.bond_sectors());
        let dim = |bond: usize, charge: usize| {
            sectors[bond]
                .iter()
                .find(|&&(q, _)| q == charge)
                .map(|&(_, d)| d)
        };
        // blocks[(site, charge, bit)], each of the documented shape.
        let mut blocks = std::collections::HashMap::new();
        let entries = h["blocks"].as_array().unwrap();
        assert_eq!(npz.len(), entries.len() + 1);
        for e in entries {
            let (site, charge, bit) = (
                e["site"].as_u64().unwrap() as usize,
                e["charge"].as_u64().unwrap() as usize,
                e["bit"].as_u64().unwrap() as usize,
            );
            let name = e["array"].as_str().unwrap();
            assert_eq!(name, format!("block_{site}_{charge}_{bit}"));
            let block: Array2<C64> = if real {
                let a: Array2<f64> = npz.by_name(name).unwrap();
                a.mapv(|x| C64::new(x, 0.0))
            } else {
                npz.by_name(name).unwrap()
            };
            let shape = (
                dim(site, charge).unwrap(),
                dim(site + 1, charge + bit).unwrap(),
            );
            assert_eq!(block.dim(), shape, "{name}");
            blocks.insert((site, charge, bit), block);
        }
        // ⟨b|ψ⟩ from the blocks alone: the charge left of site s is the weight of the sites
        // before it; missing blocks are zero.
        for i in 0..1u64 << n {
            let b = BitString::from_index(n, i);
            let mut row = Array2::from_elem((1, 1), C64::new(1.0, 0.0));
            let mut charge = 0;
            for s in 0..n {
                let bit = usize::from(b.get(state.qubit_order()[s]));
                let Some(block) = blocks.get(&(s, charge, bit)) else {
                    row = Array2::zeros((1, 1));
                    break;
                };
                row = row.dot(block);
                charge += bit;
            }
            let expected = state.amplitude(&b).unwrap();
            assert!((row[[0, 0]] - expected).norm() < 1e-12, "{b}");
        }
    }
}

/// A file of format version 1 as the previous versions wrote it: magic, version 1, payload
/// length, FNV-1a checksum, bincode payload.
fn old_file(path: &Path, magic: [u8; 8]) {
    let payload = [8u8, 1, 1, 1, 1, 1, 1, 1, 1, 0];
    let mut bytes = magic.to_vec();
    bytes.extend_from_slice(&1u32.to_le_bytes());
    bytes.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&0xcbf2_9ce4_8422_2325u64.to_le_bytes());
    bytes.extend_from_slice(&payload);
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn old_bincode_state_files_say_how_to_get_a_new_one() {
    let dir = tempfile::tempdir().unwrap();
    for (magic, kind) in [(FILE_MAGIC, "dense MPS"), (U1_FILE_MAGIC, "U(1) MPS")] {
        let path = dir.path().join("old.mps");
        old_file(&path, magic);
        for err in [
            Mps::load(&path).unwrap_err(),
            U1Mps::load(&path).unwrap_err(),
        ] {
            let msg = err.to_string();
            assert!(
                matches!(&err, Error::LegacyStateFile { kind: k, current, .. } if *k == kind && *current == FILE_VERSION),
                "{err:?}"
            );
            assert!(msg.contains("old.mps"), "{msg}");
            assert!(msg.contains("bincode") && msg.contains("earlier"), "{msg}");
            assert!(
                msg.contains("re-run the simulation that saved it with this version"),
                "{msg}"
            );
        }
    }
}

#[test]
fn cli_save_state_writes_an_npz_of_either_engine() {
    let dir = tempfile::tempdir().unwrap();
    let circuit = dir.path().join("b8.json");
    ButterflyWorkload::full(8, Loader::HammingWeight(2), 1)
        .build()
        .unwrap()
        .save(&circuit)
        .unwrap();
    for (symmetry, engine) in [("none", "dense"), ("u1", "u1")] {
        let state = dir.path().join(format!("{engine}.npz"));
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_bfly"))
            .args(["simulate", "-c", circuit.to_str().unwrap(), "-b", "mps"])
            .args([
                "--symmetry",
                symmetry,
                "--save-state",
                state.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let mut npz = NpzReader::new(File::open(&state).unwrap()).unwrap();
        assert_eq!(header(&mut npz)["engine"], engine);
        let marginals = if engine == "dense" {
            Mps::load(&state).unwrap().marginals()
        } else {
            U1Mps::load(&state).unwrap().marginals()
        };
        assert!((marginals.iter().sum::<f64>() - 2.0).abs() < 1e-10);
    }
}
