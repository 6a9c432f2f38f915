//! Where qubits sit on the MPS chain initially, and how long-range gates are routed.
//!
//! # Why this matters for a Butterfly
//! A coupling-first Butterfly on `n = 2^d` qubits pairs qubits that differ in bit `d−1`,
//! then bit `d−2`, …, then bit 0. Every layer is a perfect matching, so no chain layout
//! makes two consecutive layers both nearest-neighbour; the choice is *when* to pay for
//! SWAPs, and a SWAP costs an SVD whose price grows as χ³ with the entanglement built.
//!
//! With the **bit-reversed** layout the first layer is nearest-neighbour, every cluster
//! of qubits entangled so far stays contiguous, and layer `k` only interleaves pairs of
//! neighbouring, not yet entangled blocks of `2^(k−2)` sites: `n/4 · (2^(k−1) − 1)` SWAPs,
//! 3,840 in total at n = 128. That is the minimum for layouts that keep clusters
//! contiguous (interleaving two blocks of m sites needs m(m−1)/2 adjacent transpositions),
//! and contiguous clusters keep bonds small and let independent clusters run on separate
//! threads (`parallel.rs`). With the **identity** layout the first layer's partners are
//! n/2 apart and the clusters are spread over the whole chain.
//!
//! Which qubit walks matters as much: walking the qubit on the higher site down
//! ([`Routing::MoveHigher`]) or the lower one up and through its partner with the gate
//! fused into that last SWAP ([`Routing::MoveLowerThrough`]) both give the interleaving
//! above; walking whichever is nearer the orthogonality centre doubles the SWAPs.
//!
//! Measured (release build, 2 cores, 128-qubit full coupling-first Butterfly, angle
//! input, χ = 64, cutoff 0, `examples/mps_timing.rs`; single runs on a shared machine,
//! ±10 %):
//!
//! | layout | routing | SWAPs | two-site SVDs | time |
//! |---|---|---|---|---|
//! | bit-reversed | `MoveHigher` (default) | 3,872 | 4,320 | 5.8 s |
//! | bit-reversed | `MoveLowerThrough` (fused) | 4,000 | 4,448 | 5.4 s |
//! | bit-reversed | `NearestCentre` | 7,784 | 8,232 | 9.3 s |
//! | identity | `MoveHigher` | 9,984 | 10,432 | 9.4 s |
//! | identity | `MoveLowerThrough` | 10,048 | 10,496 | 9.2 s |
//! | identity | `NearestCentre` | 12,866 | 13,314 | 8.8 s |
//!
//! (SWAP counts include the few restoring the initial layout between early layers, see
//! [`crate::mps::Mps::restore_home_if_cheap`].) The two bit-reversed walking
//! policies tie within noise in repeated runs; `MoveHigher` does fewer SVDs, so it is the
//! default. [`SiteOrdering::Auto`] resolves to bit-reversed for power-of-two `n`.

use serde::{Deserialize, Serialize};

use bfly_core::circuit::Circuit;
use bfly_core::error::{Error, Result};

/// Initial qubit→site layout of the chain. Bit-reversed is the fastest for
/// coupling-first Butterflies (see the module docs for measurements), which is why
/// [`SiteOrdering::Auto`] resolves to it for them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SiteOrdering {
    /// Qubit `q` at site `q`.
    Identity,
    /// Qubit `q` at site `bitreverse(q)` (needs `n` a power of two).
    BitReversed,
    /// `order[s]` is the qubit placed at site `s` (a permutation of `0..n`).
    Custom(Vec<usize>),
    /// With a circuit (see [`crate::mps::run_mps`] and [`SiteOrdering::resolve`]):
    /// `BitReversed` for power-of-two `n` unless the circuit is nearest-neighbour; without a
    /// circuit (`Mps::new`), `Identity`.
    #[default]
    Auto,
}

impl SiteOrdering {
    /// The qubit at each site, validated for `n` qubits. `Auto` resolves to `Identity` here.
    pub fn qubit_at_site(&self, n: usize) -> Result<Vec<usize>> {
        match self {
            SiteOrdering::Identity | SiteOrdering::Auto => Ok((0..n).collect()),
            SiteOrdering::BitReversed => {
                if n == 0 || !n.is_power_of_two() {
                    return Err(Error::InvalidOrdering(format!(
                        "bit-reversed ordering needs a power-of-two number of qubits, got {n}; use identity or a custom ordering"
                    )));
                }
                let bits = n.trailing_zeros();
                Ok((0..n).map(|s| reverse_bits(s, bits)).collect())
            }
            SiteOrdering::Custom(order) => {
                validate_permutation(order, n)?;
                Ok(order.clone())
            }
        }
    }

    /// Resolve `Auto` for `circuit` (other variants are returned unchanged): `Identity` if
    /// `n` is not a power of two ≥ 4 or every two-qubit gate already acts on neighbouring
    /// qubits (`|a − b| = 1`), else `BitReversed`, the measured best layout for
    /// coupling-first Butterflies and their loaders (see the module docs). Coupling-last
    /// Butterflies are mirror images and prefer `Identity`: pass it explicitly.
    pub fn resolve(&self, circuit: &Circuit) -> SiteOrdering {
        if *self != SiteOrdering::Auto {
            return self.clone();
        }
        let n = circuit.qubits;
        let nearest_neighbour = circuit.ops.iter().all(|g| match g.qubits()[..] {
            [a, b] => a.abs_diff(b) == 1,
            _ => true,
        });
        if n < 4 || !n.is_power_of_two() || nearest_neighbour {
            SiteOrdering::Identity
        } else {
            SiteOrdering::BitReversed
        }
    }
}

/// Which qubit of a long-range two-qubit gate walks along the chain (by SWAPs) to its
/// partner. The permutation is tracked and never undone.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Routing {
    /// The qubit on the higher site walks down until adjacent to its partner; the gate is
    /// applied there. With the bit-reversed layout each Butterfly layer becomes a block
    /// interleave (fewest SVDs measured; the default).
    #[default]
    MoveHigher,
    /// The qubit on the lower site walks up and passes its partner: the final step applies
    /// `SWAP·gate` as one two-site update (the gate fused into the last SWAP's SVD), so
    /// crossing costs nothing extra. Ties with `MoveHigher` on Butterflies.
    MoveLowerThrough,
    /// The qubit nearer the orthogonality centre walks (fewest QR steps per gate, but on
    /// Butterflies about twice the SWAPs of `MoveHigher`).
    NearestCentre,
}

/// A planned walk: `mover` goes from `from` towards `to` (the partner's site).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Walk {
    /// Site the walking qubit starts on.
    pub from: usize,
    /// Site of its partner.
    pub to: usize,
    /// Pass the partner with the last update (gate and SWAP fused).
    pub cross: bool,
}

impl Routing {
    /// Plan the walk for a gate on sites `pa`, `pb` with the centre at `centre`.
    pub(crate) fn plan(self, pa: usize, pb: usize, centre: usize) -> Walk {
        let (lo, hi) = (pa.min(pb), pa.max(pb));
        match self {
            Routing::MoveHigher => Walk {
                from: hi,
                to: lo,
                cross: false,
            },
            Routing::MoveLowerThrough => Walk {
                from: lo,
                to: hi,
                cross: true,
            },
            Routing::NearestCentre => {
                if centre.abs_diff(lo) <= centre.abs_diff(hi) {
                    Walk {
                        from: lo,
                        to: hi,
                        cross: false,
                    }
                } else {
                    Walk {
                        from: hi,
                        to: lo,
                        cross: false,
                    }
                }
            }
        }
    }
}

/// SWAPs `routing` needs for the two-qubit gates `pairs`, applied in the given order from
/// the layout `qubit_at_site` (a dry run on the permutation only: no tensors, no gate
/// reordering or layout restoring as in the chain's `Simulator::run`). A quick way to compare
/// layouts for a circuit.
pub fn count_swaps(qubit_at_site: &[usize], pairs: &[[usize; 2]], routing: Routing) -> usize {
    let n = qubit_at_site.len();
    let mut at = qubit_at_site.to_vec();
    let mut site = vec![0; n];
    for (s, &q) in at.iter().enumerate() {
        site[q] = s;
    }
    let mut centre = 0;
    let mut swaps = 0;
    for &[a, b] in pairs {
        if a >= n || b >= n || a == b {
            continue;
        }
        let walk = routing.plan(site[a], site[b], centre);
        let mut pos = walk.from;
        if walk.to > pos {
            while pos + 1 < walk.to {
                at.swap(pos, pos + 1);
                site[at[pos]] = pos;
                site[at[pos + 1]] = pos + 1;
                pos += 1;
                swaps += 1;
            }
        } else {
            while pos > walk.to + 1 {
                at.swap(pos - 1, pos);
                site[at[pos]] = pos;
                site[at[pos - 1]] = pos - 1;
                pos -= 1;
                swaps += 1;
            }
        }
        if walk.cross {
            let other = if walk.to > pos { pos + 1 } else { pos - 1 };
            at.swap(pos, other);
            site[at[pos]] = pos;
            site[at[other]] = other;
            pos = other;
        }
        centre = pos;
    }
    swaps
}

/// Reverse the low `bits` bits of `x`.
pub fn reverse_bits(x: usize, bits: u32) -> usize {
    if bits == 0 {
        0
    } else {
        x.reverse_bits() >> (usize::BITS - bits)
    }
}

fn validate_permutation(order: &[usize], n: usize) -> Result<()> {
    if order.len() != n {
        return Err(Error::InvalidOrdering(format!(
            "custom ordering lists {} sites but the state has {n} qubits; give each qubit 0..{n} exactly once, in site order",
            order.len()
        )));
    }
    let mut seen = vec![false; n];
    for (s, &q) in order.iter().enumerate() {
        if q >= n {
            return Err(Error::InvalidOrdering(format!(
                "custom ordering puts qubit {q} at site {s}, but qubits run 0..{n}"
            )));
        }
        if seen[q] {
            return Err(Error::InvalidOrdering(format!(
                "custom ordering is not a permutation: qubit {q} appears twice (again at site {s}); each qubit 0..{n} must appear exactly once"
            )));
        }
        seen[q] = true;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bfly_core::circuit::{Butterfly, LayerOrdering};

    #[test]
    fn butterfly_swap_counts() {
        let n = 128;
        let mut c = Circuit::new(n);
        Butterfly::full(n, LayerOrdering::CouplingFirst)
            .unwrap()
            .append_to(&mut c, 0)
            .unwrap();
        let pairs: Vec<[usize; 2]> = c
            .ops
            .iter()
            .map(|g| [g.qubits()[0], g.qubits()[1]])
            .collect();
        let rev = SiteOrdering::BitReversed.qubit_at_site(n).unwrap();
        let id = SiteOrdering::Identity.qubit_at_site(n).unwrap();
        assert_eq!(count_swaps(&rev, &pairs, Routing::MoveHigher), 3840);
        assert_eq!(count_swaps(&rev, &pairs, Routing::MoveLowerThrough), 3840);
        assert_eq!(count_swaps(&id, &pairs, Routing::MoveHigher), 20544);
        assert_eq!(SiteOrdering::Auto.resolve(&c), SiteOrdering::BitReversed);
        let mut chain = Circuit::new(n);
        chain
            .push(bfly_core::circuit::Gate::Cz { qubits: [3, 4] })
            .unwrap();
        assert_eq!(SiteOrdering::Auto.resolve(&chain), SiteOrdering::Identity);
    }

    #[test]
    fn bit_reversal() {
        assert_eq!(
            SiteOrdering::BitReversed.qubit_at_site(8).unwrap(),
            vec![0, 4, 2, 6, 1, 5, 3, 7]
        );
        assert!(SiteOrdering::BitReversed.qubit_at_site(12).is_err());
        assert_eq!(SiteOrdering::BitReversed.qubit_at_site(1).unwrap(), vec![0]);
    }
}
