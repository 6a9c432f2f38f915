//! Checkpoints: everything a killed run needs to continue bit-identically — the
//! configuration, a fingerprint of the data, the model, optimiser moments, the RNG's
//! position, phase/epoch, best validation loss and parameters, request counter for shot
//! seeds, cost counters and the history. JSON (floats round-trip exactly), written
//! atomically after every epoch.
//!
//! ```
//! use bfly_train::RngState;
//! use rand::{Rng, SeedableRng};
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
//! let _: u64 = rng.random();
//! let saved = RngState::capture(&rng);
//! let a: u64 = rng.random();
//! let mut back = saved.restore();
//! assert_eq!(back.random::<u64>(), a);
//! ```

use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::path::Path;

use super::trainer::{TrainConfig, TrainState};
use bfly_core::error::{Error, Result};

/// `"format"` field of checkpoint files.
pub const CHECKPOINT_FORMAT: &str = "butterfly-mps/train-checkpoint";
/// The checkpoint version this build writes and reads.
pub const CHECKPOINT_FORMAT_VERSION: u32 = 1;

/// A ChaCha8 generator's exact position: seed, stream and word position.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RngState {
    /// The 32-byte key, hex.
    pub seed: String,
    /// Stream number.
    pub stream: u64,
    /// Word position (a 68-bit number), as two halves.
    pub word_pos_hi: u64,
    /// Low 64 bits of the word position.
    pub word_pos_lo: u64,
}

impl RngState {
    /// Record where `rng` is.
    pub fn capture(rng: &ChaCha8Rng) -> Self {
        let pos = rng.get_word_pos();
        RngState {
            seed: rng.get_seed().iter().map(|b| format!("{b:02x}")).collect(),
            stream: rng.get_stream(),
            word_pos_hi: (pos >> 64) as u64,
            word_pos_lo: pos as u64,
        }
    }

    /// A generator at the recorded position (panics only on a malformed seed, which
    /// [`RngState::check`] rejects when a checkpoint is loaded).
    pub fn restore(&self) -> ChaCha8Rng {
        use rand::SeedableRng;
        let mut seed = [0u8; 32];
        for (i, b) in seed.iter_mut().enumerate() {
            *b = u8::from_str_radix(&self.seed[2 * i..2 * i + 2], 16).expect("checked hex seed");
        }
        let mut rng = ChaCha8Rng::from_seed(seed);
        rng.set_stream(self.stream);
        rng.set_word_pos(((self.word_pos_hi as u128) << 64) | self.word_pos_lo as u128);
        rng
    }

    /// Validate the seed text.
    pub fn check(&self) -> std::result::Result<(), String> {
        if self.seed.len() != 64 || !self.seed.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("rng.seed must be 64 hex digits".into());
        }
        Ok(())
    }
}

/// A saved training run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// Always [`CHECKPOINT_FORMAT`].
    pub format: String,
    /// [`CHECKPOINT_FORMAT_VERSION`].
    pub format_version: u32,
    /// The run's settings (a resume must use the same).
    pub config: TrainConfig,
    /// [`Dataset::fingerprint`](crate::data::Dataset::fingerprint) of all rows used.
    pub data_fingerprint: u64,
    /// Where training is.
    pub state: TrainState,
}

impl Checkpoint {
    /// JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a checkpoint always serialises")
    }

    /// Write atomically (a crash mid-write leaves the previous checkpoint intact). A
    /// checkpoint whose model fails [`HybridModel::check`](crate::model::HybridModel::check) (a
    /// non-finite value, which JSON would store as `null`) is refused, and the previous
    /// checkpoint stays.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        self.state.model.check().map_err(|reason| {
            Error::Training(format!(
                "refusing to write checkpoint {}: its model is not valid ({reason})",
                path.display()
            ))
        })?;
        bfly_core::io::write_atomic(path, self.to_json().as_bytes())
    }

    /// Read and check a checkpoint.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_json(&text, path)
    }

    /// Parse and check checkpoint JSON text, as [`Checkpoint::load`] does for a file;
    /// `context` names the source in errors.
    pub fn from_json(text: &str, context: impl AsRef<Path>) -> Result<Self> {
        let path = context.as_ref();
        let corrupt = |reason: String| Error::CorruptFile {
            path: path.to_path_buf(),
            reason,
        };
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            corrupt(format!(
                "not a checkpoint: invalid JSON ({e}); the file may be truncated"
            ))
        })?;
        if value.get("format").and_then(|f| f.as_str()) != Some(CHECKPOINT_FORMAT) {
            return Err(corrupt(format!(
                "not a training checkpoint (expected \"format\": \"{CHECKPOINT_FORMAT}\")"
            )));
        }
        match value.get("format_version").and_then(|v| v.as_u64()) {
            Some(v) if v == CHECKPOINT_FORMAT_VERSION as u64 => {}
            Some(v) => {
                return Err(Error::UnsupportedFileVersion {
                    path: path.to_path_buf(),
                    kind: "training checkpoint",
                    found: v.min(u32::MAX as u64) as u32,
                    supported: CHECKPOINT_FORMAT_VERSION,
                })
            }
            None => return Err(corrupt("missing \"format_version\"".into())),
        }
        let cp: Checkpoint = serde_json::from_value(value)
            .map_err(|e| corrupt(format!("malformed checkpoint: {e}")))?;
        cp.state
            .model
            .check()
            .map_err(|e| corrupt(format!("model: {e}")))?;
        cp.state.rng.check().map_err(corrupt)?;
        Ok(cp)
    }
}
