//! Micro-benchmark of the dense factorisations the MPS engine uses (release build):
//! `cargo run --release --example svd_micro`. Prints ms per call for real and complex
//! thin SVDs (QR-iteration vs divide-and-conquer, sequential vs 2 threads) and QR.
use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::svd::{ComputeSvdVectors, SvdParams};
use faer::{Mat, Par};
use std::time::Instant;

fn svd<T: faer::traits::ComplexField + Copy>(
    a: &Mat<T>,
    thr: usize,
    cv: ComputeSvdVectors,
    par: Par,
) -> f64 {
    let (m, n) = a.shape();
    let k = m.min(n);
    let mut params: faer::Spec<SvdParams, T> = Default::default();
    params.recursion_threshold = thr;
    let mut u = Mat::<T>::zeros(m, k);
    let mut v = Mat::<T>::zeros(n, k);
    let mut s = faer::diag::Diag::<T>::zeros(k);
    let req = faer::linalg::svd::svd_scratch::<T>(m, n, ComputeSvdVectors::Thin, cv, par, params);
    let mut buf = MemBuffer::new(req);
    let reps = (4_000_000 / (m * n * k / 1000).max(1)).clamp(3, 400);
    let t = Instant::now();
    for _ in 0..reps {
        let vv = match cv {
            ComputeSvdVectors::No => None,
            _ => Some(v.as_mut()),
        };
        faer::linalg::svd::svd(
            a.as_ref(),
            s.as_mut(),
            Some(u.as_mut()),
            vv,
            par,
            MemStack::new(&mut buf),
            params,
        )
        .unwrap();
    }
    t.elapsed().as_secs_f64() / reps as f64 * 1e3
}

fn evd(g: &Mat<f64>) -> f64 {
    use faer::linalg::evd::{self_adjoint_evd, self_adjoint_evd_scratch, ComputeEigenvectors};
    let m = g.nrows();
    let mut s = faer::diag::Diag::<f64>::zeros(m);
    let mut u = Mat::<f64>::zeros(m, m);
    let req =
        self_adjoint_evd_scratch::<f64>(m, ComputeEigenvectors::Yes, Par::Seq, Default::default());
    let mut buf = MemBuffer::new(req);
    let reps = (4_000_000 / (m * m * m / 1000).max(1)).clamp(3, 400);
    let t = Instant::now();
    for _ in 0..reps {
        self_adjoint_evd(
            g.as_ref(),
            s.as_mut(),
            Some(u.as_mut()),
            Par::Seq,
            MemStack::new(&mut buf),
            Default::default(),
        )
        .unwrap();
    }
    t.elapsed().as_secs_f64() / reps as f64 * 1e3
}

fn main() {
    let only_evd = std::env::args().any(|a| a == "evd");
    for &m in &[64usize, 128, 256, 512] {
        let a = Mat::<f64>::from_fn(m, m, |i, j| ((i * 31 + j * 17) % 97) as f64 / 97.0 - 0.5);
        let g = &a * a.transpose();
        if only_evd {
            println!("{m}: evd {:.3} ms", evd(&g));
            continue;
        }
        let c = Mat::<num_complex::Complex64>::from_fn(m, m, |i, j| {
            num_complex::Complex64::new(
                ((i * 31 + j * 17) % 97) as f64 / 97.0,
                ((i * 7 + j * 3) % 13) as f64 / 13.0,
            )
        });
        println!(
            "{m}: f64 QR-iteration U+V {:.3} ms, U only {:.3}, 2 threads {:.3} | divide-and-conquer {:.3} | \
             c64 QR-iteration {:.3}, 2 threads {:.3} | f64 symmetric EVD {:.3}",
            svd(&a, usize::MAX, ComputeSvdVectors::Thin, Par::Seq),
            svd(&a, usize::MAX, ComputeSvdVectors::No, Par::Seq),
            svd(&a, usize::MAX, ComputeSvdVectors::Thin, Par::rayon(2)),
            svd(&a, 128, ComputeSvdVectors::Thin, Par::Seq),
            svd(&c, usize::MAX, ComputeSvdVectors::Thin, Par::Seq),
            svd(&c, usize::MAX, ComputeSvdVectors::Thin, Par::rayon(2)),
            evd(&g),
        );
    }
}
