//! The synthetic RHC-like table shared by the study tests.

use std::fmt::Write as _;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A small CSV with the study's default column names: physiology with structure, an
/// outcome driven by it, leak columns present but unused.
pub fn synthetic_rhc(rows: usize, seed: u64) -> String {
    let masked = butterfly_mps::study::imputation::RHC_MASKED;
    let excluded = [
        "sadmdte", "dschdte", "dthdte", "lstctdte", "t3d30", "death", "ptid", "urin1", "adld3p",
    ];
    let mut s = String::new();
    let header: Vec<String> = masked
        .iter()
        .chain(excluded.iter())
        .map(|c| format!("\"{c}\""))
        .chain([
            "\"sex\"".to_string(),
            "\"cat2\"".to_string(),
            "\"dth30\"".to_string(),
        ])
        .collect();
    writeln!(s, "{}", header.join(",")).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for r in 0..rows {
        let severity: f64 = rng.random::<f64>() * 2.0 - 1.0;
        let mut cells: Vec<String> = masked
            .iter()
            .enumerate()
            .map(|(j, name)| {
                let v = 50.0 + 10.0 * (j as f64 + 1.0) * severity + rng.random::<f64>();
                if *name == "wtkilo1" && r % 50 == 0 {
                    " 0".to_string() // not recorded
                } else {
                    format!(" {v:.4}")
                }
            })
            .collect();
        cells.extend(excluded.iter().map(|_| "NA".to_string()));
        cells.push(if r % 2 == 0 {
            "\"Male\"".into()
        } else {
            "\"Female\"".into()
        });
        cells.push(if r % 3 == 0 {
            "\"NA\"".into()
        } else {
            "\"Coma\"".into()
        });
        let p = 1.0 / (1.0 + (-2.5 * severity).exp());
        cells.push(if rng.random::<f64>() < p {
            "\"Yes\"".into()
        } else {
            "\"No\"".into()
        });
        writeln!(s, "{}", cells.join(",")).unwrap();
    }
    s
}
