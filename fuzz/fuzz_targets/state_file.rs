//! MPS state files (`Mps::load_bytes` / `U1Mps::load_bytes`: the checks of `Mps::load` and
//! `U1Mps::load` on bytes in memory). Two kinds of input:
//! - a whole file (an `.npz` archive, or anything else): loaded as it is by both engines;
//! - text starting with `{`: a JSON header, which the target wraps in a well-formed archive
//!   together with the arrays the header announces (shapes from its `bonds` or `sectors`
//!   and `blocks`, filled with non-zero numbers), so that mutations of the header get past
//!   the archive's CRC-32 and reach the header's validation.
//!
//! A state that loads must answer its marginals, norm and a few samples (and a U(1) state
//! convert to a dense one).
#![no_main]

use std::io::Cursor;

use bfly_sim::mps::u1::U1Mps;
use bfly_sim::mps::Mps;
use bfly_sim::Simulator;
use libfuzzer_sys::fuzz_target;
use ndarray::{ArrayD, ArrayView1, IxDyn, ShapeBuilder};
use ndarray_npy::NpzWriter;
use num_complex::Complex64 as C64;
use serde_json::Value;

/// Most numbers the target writes into one archive (the arrays stay small and fast).
const MAX_NUMBERS: usize = 1 << 14;

fn exercise(state: &impl Simulator) {
    let _ = state.marginals();
    let _ = state.norm_squared();
    let _ = state.sample(3, 7);
}

fuzz_target!(|data: &[u8]| {
    let bytes = if data.trim_ascii_start().starts_with(b"{") {
        match wrap_header(data) {
            Some(b) => b,
            None => return,
        }
    } else {
        data.to_vec()
    };
    if let Ok(state) = Mps::load_bytes(&bytes, "fuzz.npz") {
        exercise(&state);
    }
    if let Ok(state) = U1Mps::load_bytes(&bytes, "fuzz.npz") {
        exercise(&state);
        if let Ok(dense) = state.to_dense() {
            exercise(&dense);
        }
    }
});

/// A stored `.npz` archive: `header.npy` holding `header` as bytes, then the arrays the
/// header announces; `None` if they would be too large.
fn wrap_header(header: &[u8]) -> Option<Vec<u8>> {
    let json: Value = serde_json::from_slice(header).unwrap_or(Value::Null);
    let real = json.get("real").and_then(Value::as_bool).unwrap_or(true);
    let mut arrays: Vec<(String, Vec<usize>)> = Vec::new();
    let usize_at = |v: &Value| v.as_u64().and_then(|x| usize::try_from(x).ok());
    match json.get("blocks").and_then(Value::as_array) {
        None => {
            // Dense: site_{s} of shape (bonds[s], 2, bonds[s + 1]).
            let bonds: Vec<usize> = json
                .get("bonds")
                .and_then(Value::as_array)
                .map(|b| b.iter().filter_map(usize_at).collect())
                .unwrap_or_default();
            for (s, w) in bonds.windows(2).enumerate() {
                arrays.push((format!("site_{s}"), vec![w[0], 2, w[1]]));
            }
        }
        Some(blocks) => {
            // U(1): each listed block, shaped by the sector dimensions of its two bonds.
            let sectors = json.get("sectors").and_then(Value::as_array);
            let dim = |bond: usize, charge: usize| -> usize {
                sectors
                    .and_then(|s| s.get(bond))
                    .and_then(Value::as_array)
                    .and_then(|list| {
                        list.iter().find_map(|pair| {
                            let q = pair.get(0).and_then(usize_at)?;
                            (q == charge)
                                .then(|| pair.get(1).and_then(usize_at))
                                .flatten()
                        })
                    })
                    .unwrap_or(1)
            };
            for b in blocks {
                let name = b.get("array").and_then(Value::as_str).unwrap_or("block");
                let field = |k: &str| b.get(k).and_then(usize_at).unwrap_or(0);
                let (site, charge, bit) = (field("site"), field("charge"), field("bit"));
                let right = dim(site.saturating_add(1), charge.saturating_add(bit));
                arrays.push((name.to_string(), vec![dim(site, charge), right]));
            }
        }
    }
    let total = arrays.iter().try_fold(0usize, |acc, (_, shape)| {
        shape
            .iter()
            .try_fold(1usize, |p, &d| p.checked_mul(d))
            .and_then(|p| acc.checked_add(p))
    })?;
    if total > MAX_NUMBERS {
        return None;
    }
    let mut npz = NpzWriter::new(Cursor::new(Vec::new()));
    npz.add_array("header", &ArrayView1::from(header)).ok()?;
    let mut k = 0usize;
    for (name, shape) in arrays {
        let len: usize = shape.iter().product();
        let mut next = || {
            k += 1;
            (k % 7) as f64 / 8.0 - 0.375
        };
        let written = if real {
            let values: Vec<f64> = (0..len).map(|_| next()).collect();
            let array = ArrayD::from_shape_vec(IxDyn(&shape).f(), values).ok()?;
            npz.add_array(name.as_str(), &array)
        } else {
            let values: Vec<C64> = (0..len).map(|_| C64::new(next(), next())).collect();
            let array = ArrayD::from_shape_vec(IxDyn(&shape).f(), values).ok()?;
            npz.add_array(name.as_str(), &array)
        };
        written.ok()?;
    }
    Some(npz.finish().ok()?.into_inner())
}
