//! Helpers shared by the `tests/mps_*.rs` suites: random circuits of every gate type and
//! independent comparisons against the exact simulators.
#![allow(dead_code)]

use butterfly_mps::circuit::{Circuit, Gate, Mat2, Mat4, Param};
use butterfly_mps::sim::{Mps, Simulator};
use butterfly_mps::BitString;
use num_complex::Complex64 as C64;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

fn angle(rng: &mut ChaCha8Rng) -> Param {
    Param::Fixed(rng.random::<f64>() * std::f64::consts::TAU - std::f64::consts::PI)
}

fn turns(rng: &mut ChaCha8Rng) -> Param {
    Param::Fixed(rng.random::<f64>())
}

fn gaussian(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A Haar-ish random unitary of size N by Gram–Schmidt on a complex Gaussian matrix.
pub fn random_unitary<const N: usize>(rng: &mut ChaCha8Rng) -> [[C64; N]; N] {
    let mut cols: Vec<Vec<C64>> = (0..N)
        .map(|_| {
            (0..N)
                .map(|_| C64::new(gaussian(rng), gaussian(rng)))
                .collect()
        })
        .collect();
    for j in 0..N {
        for k in 0..j {
            let dot: C64 = (0..N).map(|i| cols[k][i].conj() * cols[j][i]).sum();
            let basis = cols[k].clone();
            for (x, b) in cols[j].iter_mut().zip(&basis) {
                *x -= dot * b;
            }
        }
        let norm = cols[j].iter().map(|z| z.norm_sqr()).sum::<f64>().sqrt();
        for z in cols[j].iter_mut() {
            *z /= norm;
        }
    }
    let mut m = [[C64::new(0.0, 0.0); N]; N];
    for (r, row) in m.iter_mut().enumerate() {
        for (c, x) in row.iter_mut().enumerate() {
            *x = cols[c][r];
        }
    }
    m
}

fn two_distinct(rng: &mut ChaCha8Rng, n: usize) -> [usize; 2] {
    let a = rng.random_range(0..n);
    let mut b = rng.random_range(0..n - 1);
    if b >= a {
        b += 1;
    }
    [a, b]
}

/// A random circuit on `n ≥ 2` qubits using every gate type (each at least once when
/// `gates ≥ 16`), with arbitrary (often long-range) qubit pairs.
pub fn random_circuit(n: usize, gates: usize, seed: u64) -> Circuit {
    let mut rng = rng(seed);
    let mut c = Circuit::new(n);
    for i in 0..gates {
        let kind = if i < 16 { i } else { rng.random_range(0..16) };
        let q = rng.random_range(0..n);
        let qs = two_distinct(&mut rng, n);
        let g = match kind {
            0 => Gate::Rbs {
                qubits: qs,
                theta: angle(&mut rng),
            },
            1 => Gate::Rx {
                qubit: q,
                theta: angle(&mut rng),
            },
            2 => Gate::Ry {
                qubit: q,
                theta: angle(&mut rng),
            },
            3 => Gate::Rz {
                qubit: q,
                theta: angle(&mut rng),
            },
            4 => Gate::X { qubit: q },
            5 => Gate::Z { qubit: q },
            6 => Gate::H { qubit: q },
            7 => Gate::Cz { qubits: qs },
            8 => Gate::Cnot { qubits: qs },
            9 => Gate::Swap { qubits: qs },
            10 => Gate::Gpi {
                qubit: q,
                phase: turns(&mut rng),
            },
            11 => Gate::Gpi2 {
                qubit: q,
                phase: turns(&mut rng),
            },
            12 => Gate::Ms {
                qubits: qs,
                phases: [turns(&mut rng), turns(&mut rng)],
                angle: Param::Fixed(rng.random::<f64>() * 0.25),
            },
            13 => Gate::Zz {
                qubits: qs,
                angle: turns(&mut rng),
            },
            14 => Gate::Unitary1 {
                qubit: q,
                matrix: random_unitary::<2>(&mut rng) as Mat2,
            },
            _ => Gate::Unitary2 {
                qubits: qs,
                matrix: random_unitary::<4>(&mut rng) as Mat4,
            },
        };
        c.push(g).expect("valid random gate");
    }
    c
}

/// Max |a_mps − a_ref| over all 2^n basis states (n ≤ 16).
pub fn max_amplitude_error(mps: &Mps, reference: &dyn Simulator) -> f64 {
    let n = reference.n_qubits();
    (0..1u64 << n)
        .map(|i| {
            let b = BitString::from_index(n, i);
            (mps.amplitude(&b).unwrap() - reference.amplitude(&b).unwrap()).norm()
        })
        .fold(0.0, f64::max)
}

/// Max |x − y| over two equal-length vectors.
pub fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// All 2^n amplitudes of an MPS (index bit q = qubit q), by contracting the chain left to
/// right through its public site tensors: an independent path from `Mps::amplitude`.
pub fn to_dense(mps: &Mps) -> Vec<C64> {
    let n = mps.n_qubits();
    // rows: bits of sites 0..k (site k−1 the highest bit), columns: the bond.
    let mut partial = vec![C64::new(1.0, 0.0)];
    let mut rows = 1usize;
    for site in 0..n {
        let (t, (dl, dr)) = mps.site_tensor(site).unwrap();
        let mut next = vec![C64::new(0.0, 0.0); rows * 2 * dr];
        for s in 0..2 {
            for r in 0..dr {
                for row in 0..rows {
                    let mut acc = C64::new(0.0, 0.0);
                    for l in 0..dl {
                        acc += partial[row * dl + l] * t[l + dl * (s + 2 * r)];
                    }
                    next[(row + s * rows) * dr + r] = acc;
                }
            }
        }
        partial = next;
        rows *= 2;
    }
    let mut out = vec![C64::new(0.0, 0.0); 1 << n];
    for (row, a) in partial.into_iter().enumerate() {
        let mut index = 0usize;
        for site in 0..n {
            if (row >> site) & 1 == 1 {
                index |= 1 << mps.qubit_at_site(site);
            }
        }
        out[index] = a;
    }
    out
}

/// Copy the MPS state file `from` to `to` with its JSON header changed by `change`, using
/// ndarray-npy only (not the loader): every array is copied as it is.
pub fn rewrite_state_header(
    from: &std::path::Path,
    to: &std::path::Path,
    change: impl FnOnce(&mut serde_json::Value),
) {
    use ndarray::{Array1, ArrayD};
    use ndarray_npy::{NpzReader, NpzWriter, ReadNpzError};
    let mut npz = NpzReader::new(std::fs::File::open(from).unwrap()).unwrap();
    let header: Array1<u8> = npz.by_name("header").unwrap();
    let mut json: serde_json::Value = serde_json::from_slice(header.as_slice().unwrap()).unwrap();
    change(&mut json);
    let mut out = NpzWriter::new(std::fs::File::create(to).unwrap());
    out.add_array("header", &Array1::from(serde_json::to_vec(&json).unwrap()))
        .unwrap();
    for name in npz.names().unwrap() {
        if name == "header" {
            continue;
        }
        let real: Result<ArrayD<f64>, ReadNpzError> = npz.by_name(&name);
        match real {
            Ok(a) => out.add_array(name, &a).unwrap(),
            Err(_) => {
                let a: ArrayD<C64> = npz.by_name(&name).unwrap();
                out.add_array(name, &a).unwrap()
            }
        }
    }
    out.finish().unwrap();
}
