//! The resource budget: how much memory a run may use, and what an operation needs, known
//! **before** anything that scales with user input (qubits, shots, χ, trajectories,
//! circuit size) is allocated. A run that would not fit is refused with
//! [`Error::ResourceExceeded`], which says what needs how much, how much is available and
//! what to change; nothing ends in an allocation failure (`memory allocation of … bytes
//! failed`) or a `capacity overflow` panic.
//!
//! # Available memory
//! [`Budget::system`] allows [`AVAILABLE_FRACTION`] (90 %) of the memory the OS reports as
//! available (`MemAvailable` in `/proc/meminfo`), the rule the state-vector engine has
//! always used. Where the OS does not report it, only what no address space can hold
//! (more than `isize::MAX` bytes) is refused. Estimates of at most [`SMALL_BYTES`] are
//! accepted by [`Need::check`] without reading the OS at all, so small runs in tight
//! loops pay nothing.
//!
//! # Estimates
//! Every estimator of [`Need`] computes in `u128` with saturating arithmetic and caps the
//! result at `u64::MAX` bytes (printed "more than 16.0 EiB"): no user-supplied size can
//! overflow it. Estimates are upper bounds of the dominant allocations (amplitudes,
//! tensors, tables, outcome lists), not exact accounting; the constants below say what
//! they count.
//!
//! **MPS.** An MPS starts as a product state (bond dimension 1) and grows at most to the
//! bond cap χ. The estimate is the **peak the run may reach**: every bond at
//! `min(χ, Schmidt-rank bound of that cut)`, where the bound is `2^min(l, n−l)` in general
//! and `Σ_c min(C(l, c), C(n−l, k−c))` for a state of fixed Hamming weight `k` (a
//! weight-1 state never exceeds bond 2, whatever χ). A run whose peak does not fit is
//! refused up front rather than after hours of work; one that stays below χ in practice
//! is still judged by χ, so the advice is to lower χ to what the run needs.
//!
//! **Shots** are kept as a histogram (one entry per distinct outcome, at most
//! `min(shots, number of possible outcomes)`), never one entry per shot; see
//! [`Need::histogram`].
//!
//! ```
//! use bfly_core::budget::{Budget, Need};
//! use bfly_core::error::Error;
//! // A 40-qubit state vector (16 TiB) does not fit in 8 GiB; 20 qubits (16 MiB) do.
//! let budget = Budget::with_limit(8 << 30);
//! assert!(budget.check(&Need::state_vector(20)).is_ok());
//! let e = budget.check(&Need::state_vector(40)).unwrap_err();
//! assert!(matches!(e, Error::ResourceExceeded { needed_bytes, .. } if needed_bytes == 16 << 40));
//! assert!(e.to_string().starts_with("a state vector of 40 qubits"));
//! assert!(e.to_string().contains("needs 16.0 TiB but only 8.0 GiB is available"));
//! // No size overflows: 2^(2^64 − 1) amplitudes saturate.
//! assert_eq!(Need::state_vector(usize::MAX).bytes(), u64::MAX);
//! // The system budget (90 % of MemAvailable) refuses a billion-qubit MPS at χ = 64.
//! assert!(Need::mps(1_000_000_000, 64, None, false, 1).check().is_err());
//! ```

use crate::error::{format_bytes, Error, Result};

/// Share of the memory the OS reports as available that a run may plan on.
pub const AVAILABLE_FRACTION: f64 = 0.9;

/// Estimates up to this many bytes (64 MiB) are accepted without reading the OS.
pub const SMALL_BYTES: u64 = 64 << 20;

/// Bytes of one complex amplitude (`Complex64`).
pub const AMPLITUDE_BYTES: u64 = 16;

/// Bytes counted per operation of a circuit held in memory and written out as JSON or
/// OpenQASM: the in-memory gate plus its text form (about 100 characters).
pub const OP_BYTES: u64 = std::mem::size_of::<crate::circuit::Gate>() as u64 + 128;

/// Bytes counted per site of a dense MPS besides its tensor: the tensor's vector header
/// and allocation, bond dimension, qubit↔site maps, home layout and truncation statistics.
pub const MPS_SITE_BYTES: u64 = 160;

/// Bytes counted per gate of a run on an MPS (the bound 4×4 matrix and its scheduling).
pub const MPS_GATE_BYTES: u64 = 320;

/// Largest number of cuts from each end whose bond bound an MPS estimate computes one by
/// one; the cuts between take the bound at the middle of the chain (the largest).
const MPS_EXACT_CUTS: usize = 4096;

/// Memory the OS reports as available, in bytes (Linux `MemAvailable`; `None` elsewhere).
pub fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib.saturating_mul(1024))
}

/// `bytes` for messages: binary units, or "more than 16.0 EiB" for a saturated estimate.
pub fn describe_bytes(bytes: u64) -> String {
    if bytes == u64::MAX {
        format!("more than {}", format_bytes(u64::MAX as f64))
    } else {
        format_bytes(bytes as f64)
    }
}

/// How much memory a run may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    limit: u64,
}

impl Budget {
    /// [`AVAILABLE_FRACTION`] of the memory the OS reports as available now, or the
    /// address-space limit (`isize::MAX` bytes) where it reports none.
    pub fn system() -> Self {
        let limit = match available_memory() {
            Some(bytes) => (bytes as f64 * AVAILABLE_FRACTION) as u64,
            None => isize::MAX as u64,
        };
        Budget { limit }
    }

    /// A budget of exactly `bytes` (tests, or a caller that shares the machine).
    pub fn with_limit(bytes: u64) -> Self {
        Budget { limit: bytes }
    }

    /// The bytes this budget allows.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// True if `bytes` fit.
    pub fn fits(&self, bytes: u64) -> bool {
        bytes <= self.limit
    }

    /// `Ok` if `need` fits, else [`Error::ResourceExceeded`] naming it, the bytes it needs,
    /// the bytes available and its advice.
    pub fn check(&self, need: &Need) -> Result<()> {
        if self.fits(need.bytes) {
            Ok(())
        } else {
            Err(need.exceeded(self.limit))
        }
    }

    /// How many items of `bytes_each` fit (at least 1 for any `bytes_each`).
    pub fn items(&self, bytes_each: u64) -> u64 {
        (self.limit / bytes_each.max(1)).max(1)
    }
}

/// What an operation needs: a description, an upper bound in bytes, and what to change
/// if it does not fit. Build one with the estimators and check it with [`Need::check`] or
/// [`Budget::check`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Need {
    what: String,
    bytes: u64,
    advice: String,
}

/// `a · b` in `u128`, saturating.
fn mul(a: u128, b: u128) -> u128 {
    a.saturating_mul(b)
}

/// `2^e` in `u128`, saturating.
fn pow2(e: usize) -> u128 {
    if e >= 128 {
        u128::MAX
    } else {
        1u128 << e
    }
}

/// `u128` bytes as `u64`, saturating.
fn to_u64(x: u128) -> u64 {
    u64::try_from(x).unwrap_or(u64::MAX)
}

/// `C(n, k)` exactly, saturating at `u128::MAX` (stops as soon as it saturates).
///
/// ```
/// use bfly_core::budget::binomial;
/// assert_eq!(binomial(128, 2), 8128);
/// assert_eq!(binomial(5, 7), 0);
/// assert_eq!(binomial(usize::MAX, usize::MAX / 2), u128::MAX);
/// ```
pub fn binomial(n: usize, k: usize) -> u128 {
    if k > n {
        return 0;
    }
    let k = k.min(n - k);
    let mut c: u128 = 1;
    for i in 0..k {
        // C(n, i+1) = C(n, i) · (n − i) / (i + 1), exact at every step.
        match c.checked_mul((n - i) as u128) {
            Some(x) => c = x / (i as u128 + 1),
            None => return u128::MAX,
        }
    }
    c
}

/// `C(m, j)` as `f64`, stopping once it exceeds `1e30` (far above any bond cap).
fn binomial_capped(m: usize, j: usize) -> f64 {
    if j > m {
        return 0.0;
    }
    let j = j.min(m - j);
    let mut c = 1.0f64;
    for i in 0..j {
        c = c * (m - i) as f64 / (i + 1) as f64;
        if c > 1e30 {
            return c;
        }
    }
    c.round()
}

/// The largest bond dimension the cut after the first `l` of `n` sites can need, capped
/// at `cap`: `2^min(l, n−l)`; `min(2^l, (l+1)·2^(n−l))` for the U(1) engine's mixed-weight
/// states (the charge label); `Σ_c min(C(l,c), C(n−l,k−c))` for weight `k`.
fn cut_bound(n: usize, l: usize, weight: Option<usize>, symmetric: bool, cap: u128) -> u128 {
    let capped = |x: f64| -> u128 {
        if x >= cap as f64 {
            cap
        } else {
            (x.round() as u128).min(cap)
        }
    };
    let exp2 = |e: usize| {
        if e >= 127 {
            f64::INFINITY
        } else {
            2f64.powi(e as i32)
        }
    };
    match weight {
        Some(k) => {
            let lo = k.saturating_sub(n - l);
            let hi = k.min(l);
            let mut sum = 0.0f64;
            for c in lo..=hi {
                sum += binomial_capped(l, c).min(binomial_capped(n - l, k - c));
                if sum >= cap as f64 {
                    return cap;
                }
            }
            capped(sum)
        }
        None if symmetric => capped(exp2(l).min((l + 1) as f64 * exp2(n - l))),
        None => capped(exp2(l.min(n - l))),
    }
}

impl Need {
    /// A need described by `what` (a noun phrase: "a state vector of 30 qubits"), of
    /// `bytes`, with `advice` (what to change if it does not fit).
    pub fn new(what: impl Into<String>, bytes: u64, advice: impl Into<String>) -> Self {
        Need {
            what: what.into(),
            bytes,
            advice: advice.into(),
        }
    }

    /// The bytes needed (`u64::MAX`: more than that).
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// What needs them.
    pub fn what(&self) -> &str {
        &self.what
    }

    /// What to change if it does not fit.
    pub fn advice(&self) -> &str {
        &self.advice
    }

    /// This need with `bytes` more (saturating), e.g. for a second buffer.
    pub fn plus(mut self, bytes: u64) -> Self {
        self.bytes = self.bytes.saturating_add(bytes);
        self
    }

    /// The typed error of this need against `available` bytes.
    pub fn exceeded(&self, available: u64) -> Error {
        Error::ResourceExceeded {
            what: self.what.clone(),
            needed_bytes: self.bytes,
            available_bytes: available,
            advice: self.advice.clone(),
        }
    }

    /// Check against [`Budget::system`]; needs of at most [`SMALL_BYTES`] pass without
    /// reading the OS.
    pub fn check(&self) -> Result<()> {
        if self.bytes <= SMALL_BYTES {
            return Ok(());
        }
        Budget::system().check(self)
    }

    /// A state vector of `n` qubits: `2^n` amplitudes of 16 bytes (the message says how
    /// much that is, as it always has).
    pub fn state_vector(n: usize) -> Self {
        Need::new(
            format!("a state vector of {n} qubits"),
            to_u64(mul(pow2(n), AMPLITUDE_BYTES as u128)),
            "use the subspace backend for Hamming-weight-preserving circuits or the MPS backend",
        )
    }

    /// The weight-`k` subspace of `n` qubits: `C(n, k)` amplitudes of 16 bytes, the
    /// `(n+1) × (k+2)` binomial table (one row vector per qubit) and per-qubit scratch.
    pub fn subspace(n: usize, k: usize) -> Self {
        let dim = binomial(n, k);
        let row = 48 + 8 * (k as u128).saturating_add(2);
        let bytes = mul(dim, AMPLITUDE_BYTES as u128)
            .saturating_add(mul(n as u128 + 1, row))
            .saturating_add(mul(n as u128, 24));
        let dim_text = if dim == u128::MAX {
            "more than 3.4e38".to_string()
        } else {
            format!("{dim}")
        };
        Need::new(
            format!("the weight-{k} subspace of {n} qubits (C({n}, {k}) = {dim_text} amplitudes x 16 bytes, plus a binomial table)"),
            to_u64(bytes),
            "use the MPS backend, or fewer qubits",
        )
    }

    /// An MPS of `n` qubits with bond cap `chi` running `ops` gates, at its peak: every
    /// bond at `min(χ, bound of its cut)` (module docs), a fixed Hamming `weight` if the
    /// state keeps one, `symmetric` for the U(1) engine (its per-site charge tables grow
    /// with `n`, so it needs `O(n²)` bookkeeping), plus the SVD workspaces.
    pub fn mps(n: usize, chi: usize, weight: Option<usize>, symmetric: bool, ops: usize) -> Self {
        let cap = chi.max(1) as u128;
        // Bond dimensions b_1..b_{n-1} (b_0 = b_n = 1), exact near both ends, the middle
        // bound in between.
        let bond = |l: usize| -> u128 {
            if l == 0 || l >= n {
                1
            } else {
                cut_bound(n, l, weight, symmetric, cap)
            }
        };
        let mut tensors: u128 = 0;
        let mut largest: u128 = 1;
        let mut add_site = |left: u128, right: u128| {
            tensors = tensors.saturating_add(mul(mul(left, right), 2 * AMPLITUDE_BYTES as u128));
            largest = largest.max(left).max(right);
        };
        if n <= 2 * MPS_EXACT_CUTS + 2 {
            for site in 0..n {
                add_site(bond(site), bond(site + 1));
            }
        } else {
            for site in 0..MPS_EXACT_CUTS {
                add_site(bond(site), bond(site + 1));
                add_site(bond(n - 1 - site), bond(n - site));
            }
            // Sites MPS_EXACT_CUTS..n−MPS_EXACT_CUTS: both bonds at most the largest bound
            // near the middle of the chain.
            let mid = n / 2;
            let middle = (mid.saturating_sub(64)..=(mid + 64).min(n - 1))
                .map(bond)
                .max()
                .unwrap_or(cap);
            let sites = (n - 2 * MPS_EXACT_CUTS) as u128;
            tensors = tensors.saturating_add(mul(
                sites,
                mul(mul(middle, middle), 2 * AMPLITUDE_BYTES as u128),
            ));
            largest = largest.max(middle);
        }
        // Two-site tensor, SVD factors and QR scratch at the largest bond: ~8 matrices of
        // (2b)², counted twice (the threads of parallel layers work on small bonds).
        let workspace = mul(2 * 8 * 4 * AMPLITUDE_BYTES as u128, mul(largest, largest));
        let per_site = if symmetric {
            // dims row (n+2 counts) and 2(n+1) block slots (24-byte vector headers).
            (MPS_SITE_BYTES as u128).saturating_add(mul(n as u128 + 2, 64))
        } else {
            MPS_SITE_BYTES as u128
        };
        let bytes = tensors
            .saturating_add(workspace)
            .saturating_add(mul(n as u128, per_site))
            .saturating_add(mul(ops as u128, MPS_GATE_BYTES as u128));
        let engine = if symmetric { "a U(1) MPS" } else { "an MPS" };
        let kept = match weight {
            Some(k) => format!("Hamming weight {k}; "),
            None => String::new(),
        };
        Need::new(
            format!("{engine} of {n} qubits at bond cap χ = {chi} ({kept}the peak the run may reach, every bond at min(χ, its rank bound))"),
            to_u64(bytes),
            "lower --chi (it caps every bond), simulate fewer qubits, or use the subspace backend for Hamming-weight-preserving circuits",
        )
    }

    /// An MPS of `n` qubits in a product state (every bond of dimension 1): what any MPS
    /// run allocates before its first gate (`symmetric` for the U(1) engine).
    pub fn mps_product_state(n: usize, symmetric: bool) -> Self {
        let at_one = Need::mps(n, 1, None, symmetric, 0);
        let engine = if symmetric { "a U(1) MPS" } else { "an MPS" };
        Need::new(
            format!("{engine} of {n} qubits in a product state (bond dimension 1)"),
            at_one.bytes,
            "simulate fewer qubits",
        )
    }

    /// Noisy trajectories on an MPS of `n` qubits with bond cap `chi` and `ops` gates:
    /// the ideal state and one state per thread (`threads`), each at its peak
    /// ([`Need::mps`]; trajectories do not keep a Hamming weight).
    pub fn mps_trajectories(n: usize, chi: usize, ops: usize, threads: usize) -> Self {
        let one = Need::mps(n, chi, None, false, ops);
        Need::new(
            format!("MPS trajectories of {n} qubits at bond cap χ = {chi} (the ideal state and one per thread, {threads} threads, each at the peak the run may reach)"),
            one.bytes.saturating_mul(threads as u64 + 1),
            "lower --chi, simulate fewer qubits, or use fewer threads (RAYON_NUM_THREADS)",
        )
    }

    /// Bytes of one histogram entry for `n` qubits: the outcome (a bit vector), its count,
    /// the map node that collects it, the sorted copy that reports it, and its text.
    pub fn histogram_entry_bytes(n: usize) -> u64 {
        let words = (n as u128).div_ceil(64);
        let outcome = 48u128.saturating_add(mul(words, 8));
        to_u64(
            mul(outcome.saturating_add(32), 3)
                .saturating_add(n as u128)
                .saturating_add(32),
        )
    }

    /// Measurement counts of `shots` shots of `n` qubits with at most `outcomes` possible
    /// outcomes: one entry per distinct outcome, at most `min(shots, outcomes)` of them.
    pub fn histogram(n: usize, shots: u64, outcomes: u128) -> Self {
        let entries = (shots as u128).min(outcomes);
        Need::new(
            format!("a histogram of up to {entries} distinct outcomes of {n} qubits ({shots} shots)"),
            to_u64(mul(entries, Self::histogram_entry_bytes(n) as u128)),
            "ask for fewer shots, or for the exact marginals and expectation values (no --shots), which need no per-outcome storage",
        )
    }

    /// A listing of `entries` basis states of `n` qubits with their amplitudes (e.g.
    /// `bfly simulate --amplitudes`).
    pub fn amplitude_listing(n: usize, entries: u128) -> Self {
        let each = (Self::histogram_entry_bytes(n) as u128).saturating_add(64);
        Need::new(
            format!("a listing of up to {entries} amplitudes of {n} qubits"),
            to_u64(mul(entries, each)),
            "leave out --amplitudes (marginals and counts need no listing), or simulate fewer qubits",
        )
    }

    /// A density matrix of `n` qubits: `4^n` entries of 16 bytes, and a second one for
    /// the channels.
    pub fn density_matrix(n: usize) -> Self {
        Need::new(
            format!("a density matrix of {n} qubits (4^{n} entries x 16 bytes)"),
            to_u64(mul(pow2(n.saturating_mul(2)), 2 * AMPLITUDE_BYTES as u128)),
            "use trajectories (--engine statevector or mps)",
        )
    }

    /// Noisy trajectories on the state vector: per thread a state (16 bytes per
    /// amplitude) and its probabilities, plus the ideal distribution, the running average
    /// and a batch of `batch` trajectory distributions (8 bytes per entry each).
    pub fn statevector_trajectories(n: usize, batch: usize, threads: usize) -> Self {
        let per_entry = mul(threads as u128, 24).saturating_add(mul(batch as u128 + 2, 8));
        Need::new(
            format!(
                "state-vector trajectories of {n} qubits ({threads} threads, {batch} per batch)"
            ),
            to_u64(mul(pow2(n), per_entry)),
            "use MPS trajectories (--engine mps), or fewer qubits",
        )
    }

    /// A circuit of `qubits` qubits with `ops` operations and `params` parameter values
    /// built in memory and written out (`what` names it, `advice` says what to shrink).
    pub fn circuit(
        what: impl Into<String>,
        qubits: usize,
        ops: u128,
        params: u128,
        advice: impl Into<String>,
    ) -> Self {
        let bytes = mul(ops, OP_BYTES as u128)
            .saturating_add(mul(params, 32))
            .saturating_add(mul(qubits as u128, 16));
        Need::new(what, to_u64(bytes), advice)
    }

    /// Compiling a circuit of `qubits` qubits and `ops` operations to native gates: the
    /// per-qubit frames (two 2×2 complex matrices and gate statistics per qubit) and at
    /// most [`COMPILED_OPS_PER_OP`] native gates per source operation plus
    /// [`COMPILED_OPS_PER_QUBIT`] per qubit for the final corrections.
    pub fn compile(qubits: usize, ops: usize) -> Self {
        let compiled = mul(ops as u128, COMPILED_OPS_PER_OP as u128)
            .saturating_add(mul(qubits as u128, COMPILED_OPS_PER_QUBIT as u128));
        let bytes = mul(qubits as u128, 2 * 64 + 32)
            .saturating_add(mul(compiled, OP_BYTES as u128))
            .saturating_add(mul(ops as u128, OP_BYTES as u128));
        Need::new(
            format!("compiling a circuit of {qubits} qubits and {ops} operations (up to {compiled} native gates)"),
            to_u64(bytes),
            "compile a circuit with fewer qubits or operations",
        )
    }
}

/// Most native gates the compiler emits for one source operation (a SWAP: three
/// interactions, each with up to six single-qubit pulses around its two-qubit gate).
pub const COMPILED_OPS_PER_OP: u64 = 24;

/// Most native gates the compiler emits per qubit when it settles the final frames.
pub const COMPILED_OPS_PER_QUBIT: u64 = 3;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binomials_are_exact_and_saturate() {
        assert_eq!(binomial(0, 0), 1);
        assert_eq!(binomial(10, 3), 120);
        assert_eq!(binomial(64, 32), 1_832_624_140_942_590_534);
        assert_eq!(binomial(3, 4), 0);
        assert_eq!(binomial(usize::MAX, 1), usize::MAX as u128);
        assert_eq!(binomial(usize::MAX, 3), u128::MAX);
        assert_eq!(binomial(200, 100), u128::MAX);
    }

    #[test]
    fn sizes_at_the_overflow_edges_saturate() {
        assert_eq!(Need::state_vector(0).bytes(), 16);
        assert_eq!(Need::state_vector(30).bytes(), 16 << 30);
        assert_eq!(Need::state_vector(59).bytes(), 16 << 59);
        for n in [60, 63, 64, 127, 128, usize::MAX] {
            assert_eq!(Need::state_vector(n).bytes(), u64::MAX, "{n}");
        }
        assert_eq!(Need::density_matrix(usize::MAX).bytes(), u64::MAX);
        assert_eq!(Need::subspace(usize::MAX, 2).bytes(), u64::MAX);
        assert_eq!(Need::subspace(usize::MAX, usize::MAX).bytes(), u64::MAX);
        assert_eq!(
            Need::mps(usize::MAX, usize::MAX, None, true, usize::MAX).bytes(),
            u64::MAX
        );
        assert_eq!(
            Need::histogram(usize::MAX, u64::MAX, u128::MAX).bytes(),
            u64::MAX
        );
        assert_eq!(Need::compile(usize::MAX, usize::MAX).bytes(), u64::MAX);
        let e = Budget::with_limit(1 << 30)
            .check(&Need::state_vector(usize::MAX))
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("needs more than 16.0 EiB but only 1.0 GiB is available"),
            "{e}"
        );
    }

    #[test]
    fn shots_cost_distinct_outcomes_not_shots() {
        // u64::MAX shots of 16 qubits: at most 2^16 outcomes.
        let need = Need::histogram(16, u64::MAX, 1 << 16);
        assert_eq!(need.bytes(), (1 << 16) * Need::histogram_entry_bytes(16));
        assert!(need.bytes() < 32 << 20);
        // 10^12 shots of 64 qubits may all differ.
        let need = Need::histogram(64, 1_000_000_000_000, 1 << 64);
        assert!(need.bytes() > 100 << 40);
        assert!(need.advice().contains("fewer shots"));
    }

    #[test]
    fn the_mps_peak_follows_chi_and_the_cut_bounds() {
        let tensor = |n: usize, chi: usize, w: Option<usize>| {
            Need::mps(n, chi, w, false, 0).bytes() - Need::mps(n, 1, w, false, 0).bytes()
        };
        // 16 qubits at χ = 4096: bonds 2, 4, …, 256, …, 4, 2 (never χ).
        let exact: u64 = (0..16)
            .map(|s: u32| {
                let b = |l: u32| 1u64 << l.min(16 - l);
                b(s) * b(s + 1) * 32
            })
            .sum();
        let workspace = |b: u64| 2 * 8 * 4 * 16 * b * b;
        assert_eq!(
            Need::mps(16, 4096, None, false, 0).bytes(),
            exact + workspace(256) + 16 * MPS_SITE_BYTES
        );
        assert_eq!(tensor(16, 4096, None), tensor(16, 256, None));
        // Weight 1 keeps every bond at 2; weight 2 at min(l, n−l) + 2.
        assert_eq!(
            Need::mps(1000, 64, Some(1), false, 0).bytes(),
            2 * 2 * 32 + 998 * 2 * 2 * 2 * 16 + workspace(2) + 1000 * MPS_SITE_BYTES
        );
        assert!(tensor(1024, 1024, Some(2)) < tensor(1024, 1024, None) / 10);
        // Long chains: the middle takes the middle bound.
        let long = Need::mps(1_000_000, 64, None, false, 0).bytes();
        let per_site = 64 * 64 * 32 + MPS_SITE_BYTES;
        assert!(long <= 1_000_000 * per_site + workspace(64), "{long}");
        assert!(long >= 990_000 * per_site, "{long}");
        // U(1): the charge tables are O(n²).
        assert!(Need::mps(100_000, 1, Some(1), true, 0).bytes() > 100_000u64 * 100_000 * 64);
    }

    #[test]
    fn budgets_check_and_describe() {
        let b = Budget::with_limit(1000);
        assert!(b.fits(1000) && !b.fits(1001));
        assert_eq!(b.items(10), 100);
        assert_eq!(b.items(0), 1000);
        let need = Need::new("a thing", 1001, "use less").plus(1);
        let e = b.check(&need).unwrap_err();
        assert_eq!(
            e.to_string(),
            "a thing needs 1002 B but only 1000 B is available; use less"
        );
        assert!(matches!(
            e,
            Error::ResourceExceeded {
                needed_bytes: 1002,
                available_bytes: 1000,
                ..
            }
        ));
        assert!(Need::new("small", SMALL_BYTES, "").check().is_ok());
        assert!(Budget::system().limit() > 0);
        assert_eq!(describe_bytes(u64::MAX), "more than 16.0 EiB");
    }
}
