//! Moving the orthogonality centre (QR steps), which keeps every truncation optimal.

use super::kernels::{shift_left, shift_right};
use super::Mps;

impl Mps {
    /// Move the orthogonality centre to `site` by QR steps (bonds may shrink to their
    /// exact rank bound on the way). Does nothing if `site >= n`.
    pub fn move_centre_to(&mut self, site: usize) {
        if site >= self.n {
            return;
        }
        while self.centre < site {
            let c = self.centre;
            let dims = (self.bonds[c], self.bonds[c + 1], self.bonds[c + 2]);
            let (a, b) = self.tensors.split_at_mut(c + 1);
            let k = if self.real {
                shift_right(&mut self.work.re, &mut a[c], &mut b[0], dims)
            } else {
                shift_right(&mut self.work.cx, &mut a[c], &mut b[0], dims)
            };
            self.bonds[c + 1] = k;
            self.centre += 1;
        }
        while self.centre > site {
            let c = self.centre;
            let dims = (self.bonds[c - 1], self.bonds[c], self.bonds[c + 1]);
            let (a, b) = self.tensors.split_at_mut(c);
            let k = if self.real {
                shift_left(&mut self.work.re, &mut b[0], &mut a[c - 1], dims)
            } else {
                shift_left(&mut self.work.cx, &mut b[0], &mut a[c - 1], dims)
            };
            self.bonds[c] = k;
            self.centre -= 1;
        }
    }
}
