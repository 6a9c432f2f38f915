//! The hybrid classical–quantum model and its file format.
//!
//! ```text
//! x ∈ R^m ─ standardise ─► z = W₁x̃ + b₁ (n) ─► r = ‖z‖, u = z/r ─► unary loader(u)
//!   ─► Butterfly (L ≤ log₂ n layers) ─► p_i = P(q_i = 1) ─► head: o = W₂[p, r] + b₂
//! ```
//! Regression: outputs `o` (in standardised target units inside the model, returned in
//! the data's units by [`HybridModel::predict`]), loss MSE. Classification: `σ(o)`, loss
//! binary cross-entropy. The norm `r` lost by normalisation is kept as an extra head input.
//!
//! The JSON file holds every parameter, the layer ordering, the loader, the conventions
//! and a format version; [`HybridModel::save`] writes atomically, [`HybridModel::load`]
//! checks everything and names what is wrong.
//!
//! ```
//! use bfly_train::{HybridModel, ModelSpec, Task};
//! let spec = ModelSpec::new(3, 1, 8, 3, Task::Regression);
//! let model = HybridModel::new(&spec, 7).unwrap();
//! let y = model.predict(&[0.1, -2.0, 0.5]).unwrap();
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("model.json");
//! model.save(&path).unwrap();
//! let back = HybridModel::load(&path).unwrap();
//! assert_eq!(back, model);
//! assert_eq!(back.predict(&[0.1, -2.0, 0.5]).unwrap(), y); // bit-identical
//! ```

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::path::Path;

use super::executor::{CircuitRun, Executor, ShotPlan};
use super::gradient::exact::{Rotations, UnaryButterfly};
use super::loss::Task;
use bfly_core::circuit::loaders::{random_unit_vector, Loader};
use bfly_core::circuit::{Butterfly, Circuit, LayerOrdering, Parameters};
use bfly_core::error::{Error, Result};
use bfly_core::sampling::standard_normal;

/// `"format"` field of model files.
pub const MODEL_FORMAT: &str = "butterfly-mps/hybrid-model";
/// The model file version this build writes and reads.
pub const MODEL_FORMAT_VERSION: u32 = 1;

/// The conventions a model file was written with; a file whose conventions differ from
/// this build's is refused rather than silently misread.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conventions {
    /// The RBS matrix.
    pub rbs: String,
    /// What a marginal is.
    pub marginal: String,
    /// How the classical vector becomes a quantum state.
    pub encoding: String,
    /// What the head reads.
    pub head_input: String,
    /// How the trainable angles are ordered.
    pub slots: String,
    /// Weight matrix layout.
    pub weights: String,
}

impl Conventions {
    /// The conventions of this build.
    pub fn current() -> Self {
        Conventions {
            rbs: "RBS(θ) = [[1,0,0,0],[0,cos θ,sin θ,0],[0,-sin θ,cos θ,0],[0,0,0,1]] on |q_a q_b>, radians".into(),
            marginal: "p_i = P(qubit i reads 1)".into(),
            encoding: "x̃ = (x - mean)/scale; z = W1 x̃ + b1; u = z/‖z‖ loaded by the unary loader (amplitude u_i on e_i)".into(),
            head_input: "[p_0, …, p_{n-1}, ‖z‖]".into(),
            slots: "theta[layer * n/2 + j] is gate j of layer `layer` (layer-major, Butterfly pair order)".into(),
            weights: "row-major, rows = outputs".into(),
        }
    }
}

/// A dense affine layer `y = W x + b`, `W` row-major `rows × cols`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dense {
    /// Output size.
    pub rows: usize,
    /// Input size.
    pub cols: usize,
    /// `rows × cols` weights, row-major.
    pub weights: Vec<f64>,
    /// `rows` biases.
    pub bias: Vec<f64>,
}

impl Dense {
    /// All-zero layer.
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Dense {
            rows,
            cols,
            weights: vec![0.0; rows * cols],
            bias: vec![0.0; rows],
        }
    }

    /// `W x + b`.
    pub fn apply(&self, x: &[f64]) -> Vec<f64> {
        self.weights
            .chunks_exact(self.cols)
            .zip(&self.bias)
            .map(|(row, b)| row.iter().zip(x).map(|(w, v)| w * v).sum::<f64>() + b)
            .collect()
    }

    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.rows * self.cols + self.rows
    }

    /// True if the layer has no parameters.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn check(&self, what: &str) -> std::result::Result<(), String> {
        let weights = self.rows.checked_mul(self.cols);
        if weights != Some(self.weights.len()) || self.bias.len() != self.rows {
            return Err(format!(
                "{what}: {}×{} layer needs {} weights and {} biases, found {} and {}",
                self.rows,
                self.cols,
                weights.map_or("more than 2^64".into(), |w| w.to_string()),
                self.rows,
                self.weights.len(),
                self.bias.len()
            ));
        }
        check_finite(&self.weights, &format!("{what}.weights"))?;
        check_finite(&self.bias, &format!("{what}.bias"))
    }
}

fn check_finite(v: &[f64], what: &str) -> std::result::Result<(), String> {
    match v.iter().position(|x| !x.is_finite()) {
        Some(i) => Err(format!("{what}[{i}] is {}; values must be finite", v[i])),
        None => Ok(()),
    }
}

/// Affine standardisation `x̃ = (x − mean)/scale`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scaling {
    /// Subtracted first.
    pub mean: Vec<f64>,
    /// Divided by next (all > 0).
    pub scale: Vec<f64>,
}

impl Scaling {
    /// `mean = 0`, `scale = 1`.
    pub fn identity(len: usize) -> Self {
        Scaling {
            mean: vec![0.0; len],
            scale: vec![1.0; len],
        }
    }

    /// Per-column mean and (population) standard deviation of `rows`; constant columns
    /// get scale 1.
    ///
    /// Computed on each column divided by its largest magnitude, so that any finite values
    /// give a finite mean and scale: squaring a cell of 1e308 directly would overflow the
    /// variance to infinity (and the model file would hold `null`).
    ///
    /// ```
    /// use bfly_train::model::Scaling;
    /// let s = Scaling::fit(&[vec![1e308], vec![-1e308]], 1);
    /// assert_eq!((s.mean[0], s.scale[0]), (0.0, 1e308));
    /// ```
    pub fn fit(rows: &[Vec<f64>], len: usize) -> Self {
        if rows.is_empty() {
            return Self::identity(len);
        }
        let n = rows.len() as f64;
        let (mean, scale) = (0..len)
            .map(|c| {
                let magnitude = rows.iter().map(|r| r[c].abs()).fold(0.0, f64::max);
                if magnitude == 0.0 || !magnitude.is_finite() {
                    return (0.0, 1.0);
                }
                let unit_mean = rows.iter().map(|r| r[c] / magnitude).sum::<f64>() / n;
                let unit_var = rows
                    .iter()
                    .map(|r| (r[c] / magnitude - unit_mean).powi(2))
                    .sum::<f64>()
                    / n;
                let (mean, sd) = (unit_mean * magnitude, unit_var.sqrt() * magnitude);
                if sd > 1e-12 * (1.0 + mean.abs()) {
                    (mean, sd)
                } else {
                    (mean, 1.0)
                }
            })
            .unzip();
        Scaling { mean, scale }
    }

    /// Standardise.
    pub fn forward(&self, x: &[f64]) -> Vec<f64> {
        x.iter()
            .zip(&self.mean)
            .zip(&self.scale)
            .map(|((v, m), s)| (v - m) / s)
            .collect()
    }

    /// Undo [`Scaling::forward`].
    pub fn inverse(&self, x: &[f64]) -> Vec<f64> {
        x.iter()
            .zip(&self.mean)
            .zip(&self.scale)
            .map(|((v, m), s)| v * s + m)
            .collect()
    }

    fn check(&self, len: usize, what: &str) -> std::result::Result<(), String> {
        if self.mean.len() != len || self.scale.len() != len {
            return Err(format!(
                "{what}: needs {len} means and scales, found {} and {}",
                self.mean.len(),
                self.scale.len()
            ));
        }
        check_finite(&self.mean, &format!("{what}.mean"))?;
        check_finite(&self.scale, &format!("{what}.scale"))?;
        if let Some(i) = self.scale.iter().position(|s| *s <= 0.0) {
            return Err(format!("{what}.scale[{i}] must be positive"));
        }
        Ok(())
    }
}

/// How the classical pre-layer starts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PreInit {
    /// Gaussian weights with standard deviation `1/√m`, zero bias.
    #[default]
    Random,
    /// `W₁ = [I; 0]` (the first `min(m, n)` features go to the first qubits), zero bias.
    Identity,
}

/// The shape of a model and how its parameters start.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// Input features `m`.
    pub features: usize,
    /// Outputs `k`.
    pub outputs: usize,
    /// Qubits `n` (a power of two).
    pub qubits: usize,
    /// Butterfly layers the model starts with (1..=log₂ n).
    pub layers: usize,
    /// Stride order of the Butterfly.
    pub ordering: LayerOrdering,
    /// The unary loader (`unary` tree or `unary-diagonal`).
    pub loader: Loader,
    /// Regression or classification.
    pub task: Task,
    /// Pre-layer initialisation.
    pub pre_init: PreInit,
    /// New Butterfly angles are drawn uniformly from `[-s, s]` (0: identity layers).
    pub quantum_init_scale: f64,
    /// Head weights are drawn uniformly from `[-s, s]`, biases 0.
    pub head_init_scale: f64,
}

impl ModelSpec {
    /// Defaults: coupling-first, unary tree loader, random pre-layer, angles in ±0.1,
    /// head weights in ±0.1.
    pub fn new(features: usize, outputs: usize, qubits: usize, layers: usize, task: Task) -> Self {
        ModelSpec {
            features,
            outputs,
            qubits,
            layers,
            ordering: LayerOrdering::CouplingFirst,
            loader: Loader::UnaryTree,
            task,
            pre_init: PreInit::Random,
            quantum_init_scale: 0.1,
            head_init_scale: 0.1,
        }
    }
}

/// Where each parameter group sits in the flat parameter vector
/// `[pre.weights, pre.bias, theta, head.weights, head.bias]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParamLayout {
    /// `pre.weights ++ pre.bias`.
    pub pre: (usize, usize),
    /// Butterfly angles.
    pub theta: (usize, usize),
    /// `head.weights ++ head.bias`.
    pub head: (usize, usize),
    /// Angles per layer (`n/2`).
    pub per_layer: usize,
}

impl ParamLayout {
    /// Total length.
    pub fn len(&self) -> usize {
        self.head.1
    }

    /// True if there are no parameters.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Flat range of Butterfly layer `l`.
    pub fn layer(&self, l: usize) -> (usize, usize) {
        let start = self.theta.0 + l * self.per_layer;
        (start, start + self.per_layer)
    }
}

/// The classical front of one sample: what the loader gets and the head's extra input.
#[derive(Clone, Debug, PartialEq)]
pub struct Encoded {
    /// Standardised features.
    pub x: Vec<f64>,
    /// `z = W₁x̃ + b₁`.
    pub z: Vec<f64>,
    /// `‖z‖`.
    pub norm: f64,
    /// `z/‖z‖` (`e_0` if `z = 0`).
    pub u: Vec<f64>,
}

/// The hybrid model. See the [module docs](self) for the data flow.
///
/// ```
/// use bfly_train::{HybridModel, ModelSpec, Task};
/// use bfly_exec::{MpsExecutor, ShotPlan};
/// // 5 features → 16 qubits, 2 Butterfly layers → 1 probability.
/// let mut model = HybridModel::new(&ModelSpec::new(5, 1, 16, 2, Task::Classification), 3).unwrap();
/// let x = [0.3, -1.2, 0.8, 0.0, 2.0];
/// let p = model.predict(&x).unwrap()[0];          // exact simulation (unary path)
/// assert!(p > 0.0 && p < 1.0);
/// // The same prediction with the quantum part run as an MPS, exactly or with shots.
/// let mps = MpsExecutor::new(4, 0.0).unwrap();
/// let q = model.predict_with(&mps, &[x.to_vec()], &ShotPlan::exact()).unwrap()[0][0];
/// assert!((p - q).abs() < 1e-10);
/// // Layer-wise growth: append a third layer (identity angles keep the function).
/// model.append_layer(&[0.0; 8]).unwrap();
/// assert_eq!(model.predict(&x).unwrap()[0], p);
/// assert_eq!(model.circuit().unwrap().n_trainable(), 24);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HybridModel {
    /// Always [`MODEL_FORMAT`].
    pub format: String,
    /// [`MODEL_FORMAT_VERSION`] when written by this build.
    pub format_version: u32,
    /// Conventions the numbers mean something under.
    pub conventions: Conventions,
    /// Regression or classification.
    pub task: Task,
    /// Feature names (informational; may be empty).
    #[serde(default)]
    pub feature_names: Vec<String>,
    /// Target names (informational; may be empty).
    #[serde(default)]
    pub target_names: Vec<String>,
    /// Qubits `n`.
    pub qubits: usize,
    /// Butterfly layers currently in the model.
    pub layers: usize,
    /// Stride order.
    pub ordering: LayerOrdering,
    /// Unary loader.
    pub loader: Loader,
    /// Feature standardisation.
    pub input_scaling: Scaling,
    /// Target standardisation (identity for classification).
    pub target_scaling: Scaling,
    /// `n × m` pre-layer.
    pub pre: Dense,
    /// Butterfly angles, `n/2` per layer, layer-major.
    pub theta: Vec<f64>,
    /// `k × (n+1)` head.
    pub head: Dense,
}

impl HybridModel {
    /// A freshly initialised model (seeded).
    pub fn new(spec: &ModelSpec, seed: u64) -> Result<Self> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        Self::with_rng(spec, &mut rng)
    }

    /// A freshly initialised model drawing from `rng`.
    pub fn with_rng(spec: &ModelSpec, rng: &mut impl Rng) -> Result<Self> {
        let b = Butterfly::new(spec.qubits, spec.layers, spec.ordering)?;
        if spec.loader.hamming_weight() != Some(1) {
            return Err(Error::InvalidInput(format!(
                "a hybrid model loads one unit vector: use the unary or unary-diagonal loader, not {}",
                spec.loader
            )));
        }
        spec.loader.circuit(spec.qubits)?;
        if spec.features == 0 || spec.outputs == 0 {
            return Err(Error::InvalidInput(format!(
                "a model needs at least one feature and one output (got {} and {})",
                spec.features, spec.outputs
            )));
        }
        for (what, s) in [
            ("quantum_init_scale", spec.quantum_init_scale),
            ("head_init_scale", spec.head_init_scale),
        ] {
            if !s.is_finite() || s < 0.0 {
                return Err(Error::InvalidInput(format!(
                    "{what} must be a finite number ≥ 0, got {s}"
                )));
            }
        }
        let (n, m, k) = (spec.qubits, spec.features, spec.outputs);
        let mut pre = Dense::zeros(n, m);
        match spec.pre_init {
            PreInit::Identity => {
                for i in 0..n.min(m) {
                    pre.weights[i * m + i] = 1.0;
                }
            }
            PreInit::Random => {
                let sd = 1.0 / (m as f64).sqrt();
                for w in &mut pre.weights {
                    *w = sd * standard_normal(rng);
                }
            }
        }
        let theta = uniform_vec(rng, b.n_params(), spec.quantum_init_scale);
        let mut head = Dense::zeros(k, n + 1);
        head.weights = uniform_vec(rng, k * (n + 1), spec.head_init_scale);
        Ok(HybridModel {
            format: MODEL_FORMAT.into(),
            format_version: MODEL_FORMAT_VERSION,
            conventions: Conventions::current(),
            task: spec.task,
            feature_names: Vec::new(),
            target_names: Vec::new(),
            qubits: n,
            layers: spec.layers,
            ordering: spec.ordering,
            loader: spec.loader,
            input_scaling: Scaling::identity(m),
            target_scaling: Scaling::identity(k),
            pre,
            theta,
            head,
        })
    }

    /// Number of input features `m`.
    pub fn n_features(&self) -> usize {
        self.pre.cols
    }

    /// Number of outputs `k`.
    pub fn n_outputs(&self) -> usize {
        self.head.rows
    }

    /// The Butterfly's shape.
    pub fn butterfly(&self) -> Butterfly {
        Butterfly {
            qubits: self.qubits,
            layers: self.layers,
            ordering: self.ordering,
        }
    }

    /// Append a Butterfly layer (after the existing ones) with the given angles.
    pub fn append_layer(&mut self, angles: &[f64]) -> Result<()> {
        Butterfly::new(self.qubits, self.layers + 1, self.ordering)?;
        if angles.len() != self.qubits / 2 {
            return Err(Error::InvalidInput(format!(
                "a layer on {} qubits has {} angles, got {}",
                self.qubits,
                self.qubits / 2,
                angles.len()
            )));
        }
        self.theta.extend_from_slice(angles);
        self.layers += 1;
        Ok(())
    }

    /// Flat parameter layout.
    pub fn layout(&self) -> ParamLayout {
        let pre = self.pre.len();
        let theta = self.theta.len();
        let head = self.head.len();
        ParamLayout {
            pre: (0, pre),
            theta: (pre, pre + theta),
            head: (pre + theta, pre + theta + head),
            per_layer: self.qubits / 2,
        }
    }

    /// All parameters, flat (see [`ParamLayout`]).
    pub fn params(&self) -> Vec<f64> {
        let mut v = Vec::with_capacity(self.layout().len());
        v.extend_from_slice(&self.pre.weights);
        v.extend_from_slice(&self.pre.bias);
        v.extend_from_slice(&self.theta);
        v.extend_from_slice(&self.head.weights);
        v.extend_from_slice(&self.head.bias);
        v
    }

    /// Set all parameters from a flat vector.
    pub fn set_params(&mut self, v: &[f64]) -> Result<()> {
        let l = self.layout();
        if v.len() != l.len() {
            return Err(Error::InvalidInput(format!(
                "the model has {} parameters, got {}",
                l.len(),
                v.len()
            )));
        }
        let mut rest = v;
        for dst in [
            &mut self.pre.weights,
            &mut self.pre.bias,
            &mut self.theta,
            &mut self.head.weights,
            &mut self.head.bias,
        ] {
            let (a, b) = rest.split_at(dst.len());
            dst.copy_from_slice(a);
            rest = b;
        }
        Ok(())
    }

    /// The classical front: standardise, pre-layer, normalise.
    pub fn encode(&self, x: &[f64]) -> Result<Encoded> {
        if x.len() != self.n_features() {
            return Err(Error::InvalidInput(format!(
                "the model takes {} features, got {}",
                self.n_features(),
                x.len()
            )));
        }
        let xs = self.input_scaling.forward(x);
        let z = self.pre.apply(&xs);
        let mut norm = z.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm == f64::INFINITY {
            // Σ z² overflowed: rescale by the largest entry so that finite features near
            // f64::MAX still encode (the plain sum keeps results bit-identical otherwise).
            // A NaN or infinite entry keeps the norm non-finite.
            let largest = z.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
            norm = largest * z.iter().map(|v| (v / largest).powi(2)).sum::<f64>().sqrt();
        }
        if !norm.is_finite() {
            return Err(Error::NonFiniteEncoding {
                detail: format!(
                    "the pre-processed features have norm {norm} (inputs {})",
                    if x.iter().all(|v| v.is_finite()) {
                        "are finite, so the model's scaling or pre-layer weights are not"
                    } else {
                        "contain NaN or infinite values"
                    }
                ),
            });
        }
        // A zero vector has no direction: it is loaded as e₀, and its norm 0 still reaches
        // the head, so the two cases stay distinguishable.
        let u = if norm > 0.0 {
            z.iter().map(|v| v / norm).collect()
        } else {
            let mut e = vec![0.0; self.qubits];
            e[0] = 1.0;
            e
        };
        Ok(Encoded { x: xs, z, norm, u })
    }

    /// Head outputs `o = W₂[p, r] + b₂` (standardised units / logits).
    pub fn head_outputs(&self, p: &[f64], norm: f64) -> Vec<f64> {
        let mut h = Vec::with_capacity(self.qubits + 1);
        h.extend_from_slice(p);
        h.push(norm);
        self.head.apply(&h)
    }

    /// Exact marginals `p_i = (W u)_i²` by the unary path.
    pub fn marginals_exact(&self, u: &[f64]) -> Result<Vec<f64>> {
        let kernel = UnaryButterfly::new(&self.butterfly());
        let rot = kernel.rotations(&self.theta)?;
        Ok(marginals_with(&kernel, &rot, u))
    }

    /// Head outputs (standardised units / logits) in exact simulation.
    pub fn raw_outputs(&self, x: &[f64]) -> Result<Vec<f64>> {
        let e = self.encode(x)?;
        let p = self.marginals_exact(&e.u)?;
        Ok(self.head_outputs(&p, e.norm))
    }

    /// Turn head outputs into predictions: data units (regression) or probabilities.
    pub fn finish(&self, raw: &[f64]) -> Vec<f64> {
        match self.task {
            Task::Regression => self.target_scaling.inverse(raw),
            Task::Classification => raw.iter().map(|&o| sigmoid(o)).collect(),
        }
    }

    /// Prediction for one sample in exact simulation.
    pub fn predict(&self, x: &[f64]) -> Result<Vec<f64>> {
        Ok(self.finish(&self.raw_outputs(x)?))
    }

    /// Predictions with the quantum part run on `executor` (exactly or with shots).
    pub fn predict_with(
        &self,
        executor: &dyn Executor,
        xs: &[Vec<f64>],
        plan: &ShotPlan,
    ) -> Result<Vec<Vec<f64>>> {
        let circuit = self.circuit()?;
        let enc = xs
            .iter()
            .map(|x| self.encode(x))
            .collect::<Result<Vec<_>>>()?;
        let runs = enc
            .iter()
            .map(|e| {
                Ok(CircuitRun::new(
                    &circuit,
                    Parameters::new(self.theta.clone(), self.loader.angles(self.qubits, &e.u)?),
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let out = executor.execute(&runs, plan)?;
        Ok(out
            .iter()
            .zip(&enc)
            .map(|(r, e)| self.finish(&self.head_outputs(&r.marginals, e.norm)))
            .collect())
    }

    /// The quantum circuit (loader + Butterfly); trainable defaults = the angles. Bind a
    /// sample with `inputs = loader.angles(n, encode(x).u)`.
    pub fn circuit(&self) -> Result<Circuit> {
        let mut c = self.loader.circuit(self.qubits)?;
        self.butterfly().append_to(&mut c, 0)?;
        c.parameters = Parameters::new(self.theta.clone(), vec![]);
        Ok(c)
    }

    /// Pretty JSON (floats round-trip bit-exactly).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a model always serialises")
    }

    /// Parse and check a model; `context` names the source in errors.
    pub fn from_json(text: &str, context: impl AsRef<Path>) -> Result<Self> {
        let path = context.as_ref();
        let corrupt = |reason: String| Error::CorruptFile {
            path: path.to_path_buf(),
            reason,
        };
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            corrupt(format!(
                "not a model file: invalid JSON ({e}); the file may be truncated"
            ))
        })?;
        match value.get("format").and_then(|f| f.as_str()) {
            Some(MODEL_FORMAT) => {}
            Some(other) => {
                return Err(corrupt(format!(
                    "this is a \"{other}\" file, not a hybrid model ({MODEL_FORMAT})"
                )))
            }
            None => {
                return Err(corrupt(format!(
                    "missing \"format\": \"{MODEL_FORMAT}\"; not a hybrid model file"
                )))
            }
        }
        let version = value.get("format_version").and_then(|v| v.as_u64());
        match version {
            Some(v) if v == MODEL_FORMAT_VERSION as u64 => {}
            Some(v) => {
                return Err(Error::UnsupportedFileVersion {
                    path: path.to_path_buf(),
                    kind: "hybrid model",
                    found: v.min(u32::MAX as u64) as u32,
                    supported: MODEL_FORMAT_VERSION,
                })
            }
            None => return Err(corrupt("missing or non-integer \"format_version\"".into())),
        }
        let model: HybridModel =
            serde_json::from_value(value).map_err(|e| corrupt(format!("malformed model: {e}")))?;
        model.check().map_err(corrupt)?;
        Ok(model)
    }

    /// Check internal consistency (shapes, finiteness, conventions, ranges).
    pub fn check(&self) -> std::result::Result<(), String> {
        if self.conventions != Conventions::current() {
            return Err(format!(
                "written under other conventions ({:?}); this build uses {:?}",
                self.conventions,
                Conventions::current()
            ));
        }
        Butterfly::new(self.qubits, self.layers, self.ordering).map_err(|e| e.to_string())?;
        if self.loader.hamming_weight() != Some(1) {
            return Err(format!("loader {} is not a unary loader", self.loader));
        }
        let (n, m, k) = (self.qubits, self.pre.cols, self.head.rows);
        if self.pre.rows != n {
            return Err(format!(
                "pre-layer has {} rows, expected {n} (one per qubit)",
                self.pre.rows
            ));
        }
        if m == 0 || k == 0 {
            return Err("a model needs at least one feature and one output".into());
        }
        if self.head.cols != n + 1 {
            return Err(format!(
                "head has {} columns, expected n + 1 = {}",
                self.head.cols,
                n + 1
            ));
        }
        self.pre.check("pre")?;
        self.head.check("head")?;
        // Only now that the layers' numbers are known to be in the file (so `n` is bounded
        // by its size) is the loader circuit built: a file declaring 2^40 qubits would
        // otherwise allocate 2^40 gates here.
        self.loader
            .circuit(self.qubits)
            .map_err(|e| e.to_string())?;
        if self.theta.len() != self.layers * n / 2 {
            return Err(format!(
                "{} Butterfly angles for {} layers of {} gates",
                self.theta.len(),
                self.layers,
                n / 2
            ));
        }
        check_finite(&self.theta, "theta")?;
        self.input_scaling.check(m, "input_scaling")?;
        self.target_scaling.check(k, "target_scaling")?;
        for (what, names, len) in [
            ("feature_names", &self.feature_names, m),
            ("target_names", &self.target_names, k),
        ] {
            if !names.is_empty() && names.len() != len {
                return Err(format!(
                    "{what} has {} names for {len} columns",
                    names.len()
                ));
            }
        }
        Ok(())
    }

    /// Write the model as JSON, atomically. A model that fails [`HybridModel::check`] (for
    /// example a non-finite angle, weight or scale, which JSON would store as `null`) is
    /// refused before anything is written, so no file that [`HybridModel::load`] rejects is ever
    /// made, and an existing file at `path` is left as it was.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        self.check().map_err(|reason| {
            Error::Training(format!(
                "refusing to write {}: the model is not valid ({reason})",
                path.display()
            ))
        })?;
        bfly_core::io::write_atomic(path, self.to_json().as_bytes())
    }

    /// Read and check a model file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_json(&text, path)
    }
}

/// `p = (W u)²` with a prepared kernel.
pub(crate) fn marginals_with(kernel: &UnaryButterfly, rot: &Rotations, u: &[f64]) -> Vec<f64> {
    let mut y = u.to_vec();
    kernel.forward(rot, &mut y);
    y.iter().map(|v| v * v).collect()
}

/// Logistic function.
pub fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// `len` draws uniform in `[-scale, scale]` (all zero if `scale = 0`, drawing nothing).
pub(crate) fn uniform_vec(rng: &mut impl Rng, len: usize, scale: f64) -> Vec<f64> {
    if scale == 0.0 {
        return vec![0.0; len];
    }
    (0..len)
        .map(|_| scale * (2.0 * rng.random::<f64>() - 1.0))
        .collect()
}

/// A random unit vector (for tests and examples).
pub fn random_state(n: usize, rng: &mut impl Rng) -> Vec<f64> {
    random_unit_vector(n, rng)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by fuzzing (fuzz/corpus/checkpoint/regression_*.json): a small model file
    /// declaring 2^40 qubits made the loader build a 2^40-gate loader circuit before the
    /// layers' shapes were checked (out of memory), and a 2^63-column pre-layer overflowed
    /// `rows × cols`. Both are corrupt files now, refused before anything is allocated.
    #[test]
    fn huge_declared_sizes_are_refused_before_allocating() {
        let model = HybridModel::new(&ModelSpec::new(3, 1, 2, 1, Task::Regression), 0).unwrap();
        let good: serde_json::Value = serde_json::from_str(&model.to_json()).unwrap();
        for loader in ["unary-tree", "unary-diagonal"] {
            for (pointer, value) in [("/qubits", 1u64 << 40), ("/pre/cols", 1 << 63)] {
                let mut v = good.clone();
                v["loader"] = loader.into();
                *v.pointer_mut(pointer).unwrap() = value.into();
                let err = HybridModel::from_json(&v.to_string(), "huge.json").unwrap_err();
                let msg = err.to_string();
                assert!(matches!(err, Error::CorruptFile { .. }), "{msg}");
                // Refused by the shape checks, or first by the memory budget of the
                // Butterfly the header declares (both before any allocation).
                assert!(
                    msg.contains("pre-layer has 2 rows")
                        || msg.contains("2^64")
                        || (msg.contains("a Butterfly of 1099511627776 qubits")
                            && msg.contains("is available")),
                    "{msg}"
                );
            }
        }
    }
}
