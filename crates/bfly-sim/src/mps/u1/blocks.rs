//! Storage of the U(1) MPS's blocks: `f64` while the state is real, `C64` once a complex
//! amplitude or gate appears.
//!
//! Every Butterfly of RBS gates on a real input is real from start to end, so the blocks
//! are kept in `f64`: half the memory, and the two-site updates and centre moves run on
//! them directly instead of converting every block in and out of `C64` at each update.
//! Measured on the idle 2-core machine, hw3, n = 128, χ = 256: `C64` blocks 2.53–2.59 s
//! (6 runs), 50 MiB peak RSS; `f64` blocks 2.40–2.65 s (6 runs, 4 of them ≤ 2.45 s),
//! 38 MiB. Angle, χ = 256: 8.3–8.5 s and 79 MB → 8.1 s and 57 MB. A complex
//! gate or amplitude converts the whole state to `C64` once ([`Blocks::make_complex`]);
//! it never goes back. Files store `C64` either way (the format is unchanged).

use std::borrow::Cow;

use faer::{Mat, MatRef};
use num_complex::Complex64 as C64;

use super::kernels::U1Workspace;
use crate::linalg::Scalar;

/// `blocks[site][2q + s]`, column-major; empty = zero block.
pub(crate) type Table<T> = Vec<Vec<Vec<T>>>;

/// The blocks of every site, in `f64` while every one is real.
#[derive(Clone, Debug)]
pub(crate) enum Blocks {
    Real(Table<f64>),
    Complex(Table<C64>),
}

/// A scalar type the blocks can be stored in, with its factorisation buffers.
pub(crate) trait BlockScalar: Scalar {
    /// This type's buffers in the state's workspace.
    fn bufs(work: &mut U1Workspace) -> &mut super::kernels::U1Bufs<Self>;
}

impl BlockScalar for f64 {
    fn bufs(work: &mut U1Workspace) -> &mut super::kernels::U1Bufs<f64> {
        &mut work.re
    }
}

impl BlockScalar for C64 {
    fn bufs(work: &mut U1Workspace) -> &mut super::kernels::U1Bufs<C64> {
        &mut work.cx
    }
}

/// One block, read-only, in either storage.
#[derive(Clone, Copy)]
pub(crate) enum BlockRef<'a> {
    Real(MatRef<'a, f64>),
    Complex(MatRef<'a, C64>),
}

impl BlockRef<'_> {
    pub fn nrows(&self) -> usize {
        match self {
            BlockRef::Real(m) => m.nrows(),
            BlockRef::Complex(m) => m.nrows(),
        }
    }

    pub fn ncols(&self) -> usize {
        match self {
            BlockRef::Real(m) => m.ncols(),
            BlockRef::Complex(m) => m.ncols(),
        }
    }

    /// Entry `(r, c)` as a complex number.
    pub fn at(&self, r: usize, c: usize) -> C64 {
        match self {
            BlockRef::Real(m) => C64::new(m[(r, c)], 0.0),
            BlockRef::Complex(m) => m[(r, c)],
        }
    }

    /// The block as a complex matrix (a copy), for products with complex environments.
    pub fn to_complex(self) -> Mat<C64> {
        Mat::from_fn(self.nrows(), self.ncols(), |r, c| self.at(r, c))
    }
}

impl Blocks {
    /// `n` sites of `2(n + 1)` empty (zero) blocks, stored real.
    pub fn empty(n: usize) -> Self {
        Blocks::Real(vec![vec![Vec::new(); 2 * (n + 1)]; n])
    }

    /// Complex blocks, stored in `f64` if every entry is real.
    pub fn from_complex(table: Table<C64>) -> Self {
        if table.iter().flatten().flatten().all(|z| z.im == 0.0) {
            Blocks::Real(
                table
                    .into_iter()
                    .map(|site| {
                        site.into_iter()
                            .map(|b| b.into_iter().map(|z| z.re).collect())
                            .collect()
                    })
                    .collect(),
            )
        } else {
            Blocks::Complex(table)
        }
    }

    /// Switch to real storage if every entry is real (after building a state).
    pub fn shrink_to_real(&mut self) {
        if let Blocks::Complex(table) = self {
            *self = Blocks::from_complex(std::mem::take(table));
        }
    }

    pub fn is_real(&self) -> bool {
        matches!(self, Blocks::Real(_))
    }

    /// Switch to complex storage (no-op if already complex).
    pub fn make_complex(&mut self) {
        if let Blocks::Real(table) = self {
            let table = std::mem::take(table);
            *self = Blocks::Complex(
                table
                    .into_iter()
                    .map(|site| {
                        site.into_iter()
                            .map(|b| b.into_iter().map(|x| C64::new(x, 0.0)).collect())
                            .collect()
                    })
                    .collect(),
            );
        }
    }

    /// The complex table, switching to complex storage first (for building states).
    pub fn complex_mut(&mut self) -> &mut Table<C64> {
        self.make_complex();
        match self {
            Blocks::Complex(table) => table,
            Blocks::Real(_) => unreachable!("make_complex just switched the storage"),
        }
    }

    /// All blocks as complex numbers (borrowed if stored complex).
    pub fn to_complex(&self) -> Cow<'_, Table<C64>> {
        match self {
            Blocks::Complex(table) => Cow::Borrowed(table),
            Blocks::Real(table) => Cow::Owned(
                table
                    .iter()
                    .map(|site| {
                        site.iter()
                            .map(|b| b.iter().map(|&x| C64::new(x, 0.0)).collect())
                            .collect()
                    })
                    .collect(),
            ),
        }
    }

    /// Block `idx = 2q + s` of `site` as a `rows × cols` matrix, `None` if absent.
    pub fn get(&self, site: usize, idx: usize, rows: usize, cols: usize) -> Option<BlockRef<'_>> {
        match self {
            Blocks::Real(t) => {
                let b = &t[site][idx];
                (!b.is_empty())
                    .then(|| BlockRef::Real(MatRef::from_column_major_slice(b, rows, cols)))
            }
            Blocks::Complex(t) => {
                let b = &t[site][idx];
                (!b.is_empty())
                    .then(|| BlockRef::Complex(MatRef::from_column_major_slice(b, rows, cols)))
            }
        }
    }

    /// `Σ |z|²` over block `idx` of `site`.
    pub fn norm_sqr(&self, site: usize, idx: usize) -> f64 {
        match self {
            Blocks::Real(t) => t[site][idx].iter().map(|x| x * x).sum(),
            Blocks::Complex(t) => t[site][idx].iter().map(|z| z.norm_sqr()).sum(),
        }
    }

    /// Make block `idx` of `site` a zero (absent) block.
    pub fn clear(&mut self, site: usize, idx: usize) {
        match self {
            Blocks::Real(t) => t[site][idx].clear(),
            Blocks::Complex(t) => t[site][idx].clear(),
        }
    }

    /// Multiply block `idx` of `site` by `phase` (switching to complex storage if the
    /// phase is not real).
    pub fn scale(&mut self, site: usize, idx: usize, phase: C64) {
        if phase.im != 0.0 {
            self.make_complex();
        }
        match self {
            Blocks::Real(t) => t[site][idx].iter_mut().for_each(|x| *x *= phase.re),
            Blocks::Complex(t) => t[site][idx].iter_mut().for_each(|z| *z *= phase),
        }
    }

    /// Bytes held by the blocks.
    pub fn bytes(&self) -> usize {
        match self {
            Blocks::Real(t) => t.iter().flatten().map(|b| b.len() * 8).sum(),
            Blocks::Complex(t) => t.iter().flatten().map(|b| b.len() * 16).sum(),
        }
    }
}
