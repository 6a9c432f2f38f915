//! The clinical imputation study (arXiv 2606.03517, §clinical imputation, reproduced on
//! the open RHC ICU data set): hide 30 % of the day-1 physiology at random, impute with
//! each method, and judge the imputation by how well an L2 logistic regression on the
//! completed features predicts 30-day death (`dth30`) on held-out patients, over many
//! seeds (each seed: a new mask and a new train/test split).
//!
//! Per seed and method the study records the test AUC, the normalised RMSE over every
//! hidden cell (each error divided by its column's standard deviation), the RMSE of the
//! hybrid's target column in its own units, and the wall time. The report gives mean ±
//! standard deviation per method and Welch's t-test between the best classical method
//! and each hybrid.
//!
//! The imputers never see the outcome; they impute the whole feature matrix (train and
//! test rows together, as in the preprint), then the split is drawn.
//!
//! Extra hybrid rows (noisy simulators, emulators, hardware) are added by pushing
//! [`HybridImputer`]s with a `label` and a [`FinalLayer`](crate::impute::FinalLayer) onto
//! [`StudyConfig::hybrids`].
//!
//! ```no_run
//! use bfly_studies::study::{run_study, StudyConfig};
//! let report = run_study(&StudyConfig::quick(), &mut |_| {}).unwrap();
//! println!("{}", report.markdown());
//! ```

use std::fmt;
use std::path::PathBuf;
use std::time::Instant;

use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::logistic::Logistic;
use super::metrics::{auc, mean_std, welch_t_test, WelchTest};
use crate::impute::{
    mcar_mask, DeepMice, DenseNet, HybridImputer, Imputer, Incomplete, Knn, Mask, Mean, Mice,
    MissForest, Zero,
};
use bfly_core::error::{Error, Result};
use bfly_exec::derive_seed;
use bfly_train::data::dataset::shuffle;
use bfly_train::data::{ColumnKind, TableSpec, TypedTable};

/// Columns of `rhc.csv` never used as features: dates, outcomes and the patient id
/// (leaks), and the two natively sparse columns `urin1` (53 % missing) and `adld3p`
/// (75 % missing), left out so every masked cell has a known truth.
pub const RHC_EXCLUDED: &[&str] = &[
    "sadmdte", "dschdte", "dthdte", "lstctdte", "t3d30", "dth30", "death", "ptid", "urin1",
    "adld3p",
];

/// The numeric day-1 columns of `rhc.csv` that the MCAR mask hides cells of.
pub const RHC_MASKED: &[&str] = &[
    "age", "edu", "surv2md1", "das2d3pc", "aps1", "scoma1", "meanbp1", "wblc1", "hrt1", "resp1",
    "temp1", "pafi1", "alb1", "hema1", "bili1", "crea1", "sod1", "pot1", "paco21", "ph1",
    "wtkilo1",
];

/// The default column imputed by the hybrid model: `aps1`, the APACHE III acute
/// physiology score, which is computed from the other day-1 physiology columns (so they
/// predict it well) and is the strongest single predictor of 30-day death among them.
pub const DEFAULT_TARGET: &str = "aps1";

/// Most feature columns (after one-hot encoding) the study accepts.
pub const MAX_FEATURES: usize = 5_000;

/// Most feature cells (rows × feature columns) the study accepts (8 bytes each).
pub const MAX_FEATURE_CELLS: usize = 200_000_000;

/// Everything the study needs (defaults: [`StudyConfig::default`]).
#[derive(Clone, Debug)]
pub struct StudyConfig {
    /// The CSV file.
    pub data: PathBuf,
    /// How to read it (zero-means-missing columns, NA levels).
    pub spec: TableSpec,
    /// The binary outcome column (0/1, yes/no, true/false).
    pub outcome: String,
    /// The outcome value read as 1 when the column holds other words (`Expired`); every
    /// other present value is 0. `None`: 0/1, yes/no, true/false.
    pub outcome_positive: Option<String>,
    /// Columns never used as features (the outcome is always excluded).
    pub excluded: Vec<String>,
    /// Columns the mask hides cells of (numeric, among the features).
    pub masked: Vec<String>,
    /// The column the hybrids impute (one of `masked`).
    pub target_column: String,
    /// Number of seeds (each: a new mask and split).
    pub seeds: usize,
    /// The first seed; seeds are `first_seed, first_seed + 1, …`.
    pub first_seed: u64,
    /// MCAR rate.
    pub missing_rate: f64,
    /// Fraction of patients held out for the AUC.
    pub test_fraction: f64,
    /// Inverse L2 strength of the downstream logistic regression.
    pub logistic_c: f64,
    /// KNN settings.
    pub knn: Knn,
    /// MICE settings (also the base of Deep MICE and of the hybrids).
    pub mice: Mice,
    /// MissForest settings.
    pub forest: MissForest,
    /// Deep MICE settings (its `start` is replaced by `mice`).
    pub deep_mice: DeepMice,
    /// The hybrid rows (default: 16 and 32 qubits, exact). Push labelled variants here.
    pub hybrids: Vec<HybridImputer>,
    /// The classical methods reported, in this order among the six (default: all six).
    /// MICE still runs, unreported, when it is left out but Deep MICE or a hybrid needs
    /// it as their base.
    pub classical: Vec<ClassicalMethod>,
    /// Classical networks of the hybrids' shape with the Butterfly replaced by a dense
    /// layer (default: none). Each is compared with the hybrid of its width.
    pub dense_nets: Vec<DenseNet>,
    /// Training seeds for the model-variance rows (0 or 1: none): at the first seed's
    /// mask and split, every hybrid and dense network is retrained with this many
    /// training seeds, and the spread of its AUC is reported next to the spread across
    /// masks and splits.
    pub training_seeds: usize,
}

/// A classical imputer of the study.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClassicalMethod {
    /// Column means.
    Mean,
    /// Zeros.
    Zero,
    /// K nearest neighbours.
    Knn,
    /// Chained ridge regressions.
    Mice,
    /// Chained random forests.
    MissForest,
    /// MICE refined by chained MLPs.
    DeepMice,
}

impl ClassicalMethod {
    /// All six, in the study's order.
    pub const ALL: [ClassicalMethod; 6] = [
        ClassicalMethod::Mean,
        ClassicalMethod::Zero,
        ClassicalMethod::Knn,
        ClassicalMethod::Mice,
        ClassicalMethod::MissForest,
        ClassicalMethod::DeepMice,
    ];
}

impl Default for StudyConfig {
    /// `data/rhc.csv`, outcome `dth30`, target `aps1`, 10 seeds, 30 % MCAR, 30 % test,
    /// C = 1, and every method's default settings; hybrids on 16 and 32 qubits.
    fn default() -> Self {
        let target = DEFAULT_TARGET.to_string();
        StudyConfig {
            data: PathBuf::from("data/rhc.csv"),
            spec: TableSpec {
                zero_missing: vec!["wtkilo1".into()],
                na_level: vec!["cat2".into()],
                categorical: vec![],
                missing_values: None,
            },
            outcome: "dth30".into(),
            outcome_positive: None,
            excluded: RHC_EXCLUDED.iter().map(|s| s.to_string()).collect(),
            masked: RHC_MASKED.iter().map(|s| s.to_string()).collect(),
            target_column: target.clone(),
            seeds: 10,
            first_seed: 1,
            missing_rate: 0.3,
            test_fraction: 0.3,
            logistic_c: 1.0,
            knn: Knn::default(),
            mice: Mice::default(),
            forest: MissForest::default(),
            deep_mice: DeepMice::default(),
            hybrids: vec![
                HybridImputer::new(&target, 16),
                HybridImputer::new(&target, 32),
            ],
            classical: ClassicalMethod::ALL.to_vec(),
            dense_nets: vec![],
            training_seeds: 0,
        }
    }
}

impl StudyConfig {
    /// A fast configuration for demos: 3 seeds, 10-tree MissForest with 2 sweeps, one
    /// Deep MICE sweep, hybrids trained on ≤ 1,500 rows with ≤ 4 epochs per stage.
    pub fn quick() -> Self {
        let mut c = StudyConfig {
            seeds: 3,
            ..Default::default()
        };
        c.forest.n_trees = 10;
        c.forest.max_iterations = 2;
        c.deep_mice.sweeps = 1;
        c.deep_mice.epochs = 6;
        for h in &mut c.hybrids {
            h.config.epochs_per_stage = 4;
            h.config.finetune_epochs = 2;
            h.config.max_train_rows = Some(1500);
        }
        c
    }

    /// Set the hybrids' and dense networks' target column (and check nothing else).
    pub fn with_target(mut self, target: &str) -> Self {
        self.target_column = target.to_string();
        for h in &mut self.hybrids {
            h.target = target.to_string();
        }
        for d in &mut self.dense_nets {
            d.target = target.to_string();
        }
        self
    }
}

/// The feature matrix (complete before masking, apart from native gaps) and outcome.
#[derive(Clone, Debug)]
pub struct StudyData {
    /// Features (one-hot categorical columns included).
    pub features: Incomplete,
    /// The outcome per row.
    pub outcome: Vec<bool>,
    /// Indices (into the features) of the masked columns.
    pub masked: Vec<usize>,
    /// Index of the hybrids' target column.
    pub target: usize,
}

/// Read the data file and select features, outcome and masked columns.
pub fn load_study_data(config: &StudyConfig) -> Result<StudyData> {
    let typed = TypedTable::read(&config.data, &config.spec)?;
    let outcome =
        super::schema::binary_outcome(&typed, &config.outcome, config.outcome_positive.as_deref())?;
    for name in config.excluded.iter().chain(&config.masked) {
        typed.column(name)?;
    }
    // Only the used columns are encoded: an excluded text column (ids, dates) may have
    // as many levels as rows, and its one-hot encoding would not fit in memory.
    let used = TypedTable {
        source: typed.source.clone(),
        columns: typed
            .columns
            .iter()
            .filter(|c| c.name != config.outcome && !config.excluded.contains(&c.name))
            .cloned()
            .collect(),
        lines: typed.lines.clone(),
    };
    let feature_names: Vec<String> = used
        .columns
        .iter()
        .flat_map(|c| c.encoded_names())
        .collect();
    let cells = feature_names.len().saturating_mul(used.n_rows());
    if feature_names.len() > MAX_FEATURES || cells > MAX_FEATURE_CELLS {
        let widest = used
            .columns
            .iter()
            .max_by_key(|c| c.encoded_names().len())
            .map(|c| format!("\"{}\" ({} columns)", c.name, c.encoded_names().len()))
            .unwrap_or_default();
        return Err(Error::Imputation(format!(
            "{}: the features would be {} columns × {} rows; at most {MAX_FEATURES} columns and {MAX_FEATURE_CELLS} cells are allowed. The widest after one-hot encoding is {widest}: exclude it or read it differently",
            config.data.display(),
            feature_names.len(),
            used.n_rows()
        )));
    }
    let table = used.to_table();
    let features = Incomplete::from_table(&table, &feature_names)?;
    let masked = config
        .masked
        .iter()
        .map(|m| {
            let c = typed.column(m)?;
            let header_err = |message: &str| Error::Table {
                path: typed.source.clone(),
                line: 1,
                column: Some(m.clone()),
                message: message.to_string(),
            };
            if c.kind != ColumnKind::Numeric {
                return Err(header_err(
                    "a masked column must be numeric, but this one holds text; mask numeric columns only",
                ));
            }
            features
                .column_index(m)
                .map_err(|_| header_err("a masked column cannot be excluded from the features"))
        })
        .collect::<Result<Vec<_>>>()?;
    if !config.masked.contains(&config.target_column) {
        return Err(Error::Imputation(format!(
            "the target column \"{}\" must be one of the masked columns: {}",
            config.target_column,
            config.masked.join(", ")
        )));
    }
    let target = features.column_index(&config.target_column)?;
    Ok(StudyData {
        features,
        outcome,
        masked,
        target,
    })
}

/// One method's numbers over the seeds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MethodResult {
    /// Name.
    pub name: String,
    /// A hybrid quantum method.
    pub quantum: bool,
    /// Test AUC per seed.
    pub auc: Vec<f64>,
    /// Normalised RMSE over all masked cells, per seed.
    pub nrmse: Vec<f64>,
    /// RMSE of the target column's masked cells (its units), per seed.
    pub target_rmse: Vec<f64>,
    /// Wall time of the imputation per seed (seconds; MICE's time is included in Deep
    /// MICE's and the hybrids', which start from it).
    pub seconds: Vec<f64>,
}

impl MethodResult {
    /// (mean, std) of the AUCs.
    pub fn auc_summary(&self) -> (f64, f64) {
        mean_std(&self.auc)
    }
}

/// Welch's t-test of a hybrid's AUCs against the best classical method's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The hybrid.
    pub hybrid: String,
    /// The best classical method (highest mean AUC).
    pub classical: String,
    /// Mean AUC of the hybrid minus that of the classical method.
    pub auc_difference: f64,
    /// The test (sample a = hybrid, b = classical).
    pub welch: WelchTest,
}

/// One model's AUC over training seeds at a fixed mask and split, next to its AUC
/// spread over the study's seeds (each a new mask and split).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelVariance {
    /// The model (a hybrid or a dense network).
    pub method: String,
    /// The seed whose mask and split were kept.
    pub seed: u64,
    /// Test AUC per training seed.
    pub auc: Vec<f64>,
    /// Standard deviation of `auc` (training seeds only).
    pub std_training: f64,
    /// Standard deviation of the method's AUC across the study's seeds (masks and splits,
    /// and training seeds with them).
    pub std_masks: f64,
}

/// What the study found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StudyReport {
    /// Data file.
    pub data: String,
    /// Rows (patients).
    pub rows: usize,
    /// Feature columns after one-hot encoding.
    pub features: usize,
    /// Masked columns.
    pub masked_columns: usize,
    /// Outcome column.
    pub outcome: String,
    /// The hybrids' target column.
    pub target_column: String,
    /// MCAR rate.
    pub missing_rate: f64,
    /// Seeds used.
    pub seeds: Vec<u64>,
    /// Per method, in run order.
    pub methods: Vec<MethodResult>,
    /// The best classical method by mean AUC.
    pub best_classical: String,
    /// Each hybrid against the best classical method.
    pub comparisons: Vec<Comparison>,
    /// Each hybrid against the dense network of its width (when there is one).
    #[serde(default)]
    pub equal_width: Vec<Comparison>,
    /// AUC spread across training seeds at a fixed mask and split, per model.
    #[serde(default)]
    pub model_variance: Vec<ModelVariance>,
    /// Wall time of the whole study (seconds).
    pub total_seconds: f64,
}

/// Progress of [`run_study`].
#[derive(Clone, Debug)]
pub enum StudyEvent<'a> {
    /// The study starts: `steps` = methods × seeds.
    Start {
        /// Total steps.
        steps: usize,
    },
    /// One method finished on one seed.
    Done {
        /// The method.
        method: &'a str,
        /// The seed.
        seed: u64,
        /// Its test AUC.
        auc: f64,
    },
}

fn split_rows(n: usize, test_fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut idx: Vec<usize> = (0..n).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(derive_seed(seed, 0x5917, 0));
    shuffle(&mut idx, &mut rng);
    let n_test = (test_fraction * n as f64).round() as usize;
    let (test, train) = idx.split_at(n_test);
    let (mut train, mut test) = (train.to_vec(), test.to_vec());
    train.sort_unstable();
    test.sort_unstable();
    (train, test)
}

/// Score one completed matrix: (AUC, NRMSE, target RMSE).
fn score(
    completed: &Array2<f64>,
    data: &StudyData,
    mask: &Mask,
    sds: &[f64],
    split: &(Vec<usize>, Vec<usize>),
    c: f64,
) -> Result<(f64, f64, f64)> {
    let model = Logistic::fit(completed.view(), &data.outcome, Some(&split.0), c)?;
    let scores: Vec<f64> = split
        .1
        .iter()
        .map(|&r| model.probability(completed.row(r)))
        .collect();
    let labels: Vec<bool> = split.1.iter().map(|&r| data.outcome[r]).collect();
    let a = auc(&scores, &labels)?;
    let (mut all, mut tgt, mut n_tgt) = (0.0, 0.0, 0usize);
    for (&(r, col), &truth) in mask.cells.iter().zip(&mask.truth) {
        let e = completed[[r, col]] - truth;
        all += (e / sds[col]).powi(2);
        if col == data.target {
            tgt += e * e;
            n_tgt += 1;
        }
    }
    let nrmse = (all / mask.cells.len().max(1) as f64).sqrt();
    let target_rmse = (tgt / n_tgt.max(1) as f64).sqrt();
    Ok((a, nrmse, target_rmse))
}

/// Run the study; `observer` sees the start and every finished (method, seed).
pub fn run_study(
    config: &StudyConfig,
    observer: &mut dyn FnMut(&StudyEvent<'_>),
) -> Result<StudyReport> {
    let started = Instant::now();
    if config.seeds == 0 {
        return Err(Error::Imputation(
            "the study needs at least one seed".into(),
        ));
    }
    if !(config.test_fraction > 0.0 && config.test_fraction < 1.0) {
        return Err(Error::Imputation(format!(
            "the test fraction must be in (0, 1), got {}",
            config.test_fraction
        )));
    }
    let data = load_study_data(config)?;
    super::cohort::check_split(
        &config.data,
        data.outcome.len(),
        &data.outcome,
        config.test_fraction,
    )?;
    for h in &config.hybrids {
        if h.target != config.target_column {
            return Err(Error::Imputation(format!(
                "hybrid \"{}\" imputes \"{}\" but the study's target column is \"{}\"",
                h.name(),
                h.target,
                config.target_column
            )));
        }
    }
    let sds = data.features.column_sds()?;
    let mut deep = config.deep_mice;
    deep.start = config.mice;
    let all_classical: [(ClassicalMethod, String, &dyn Imputer); 6] = [
        (ClassicalMethod::Mean, Mean.name(), &Mean),
        (ClassicalMethod::Zero, Zero.name(), &Zero),
        (ClassicalMethod::Knn, config.knn.name(), &config.knn),
        (ClassicalMethod::Mice, config.mice.name(), &config.mice),
        (
            ClassicalMethod::MissForest,
            config.forest.name(),
            &config.forest,
        ),
        (ClassicalMethod::DeepMice, deep.name(), &deep),
    ];
    if config.classical.is_empty() {
        return Err(Error::Imputation(
            "the study needs at least one classical method to compare the hybrids with".into(),
        ));
    }
    let classical: Vec<(String, &dyn Imputer)> = all_classical
        .into_iter()
        .filter(|(m, _, _)| config.classical.contains(m))
        .map(|(_, name, imputer)| (name, imputer))
        .collect();
    let mut methods: Vec<MethodResult> = classical
        .iter()
        .map(|(name, _)| (name.clone(), false))
        .chain(config.hybrids.iter().map(|h| (h.name(), true)))
        .chain(config.dense_nets.iter().map(|d| (d.name(), false)))
        .map(|(name, quantum)| MethodResult {
            name,
            quantum,
            auc: vec![],
            nrmse: vec![],
            target_rmse: vec![],
            seconds: vec![],
        })
        .collect();
    let mut names: Vec<&str> = methods.iter().map(|m| m.name.as_str()).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(Error::Imputation(format!(
            "two methods are named \"{}\"; give each hybrid variant its own label",
            w[0]
        )));
    }
    let models = config.hybrids.len() + config.dense_nets.len();
    let variance_runs = if config.training_seeds >= 2 {
        config.training_seeds * models
    } else {
        0
    };
    observer(&StudyEvent::Start {
        steps: methods.len() * config.seeds + variance_runs,
    });
    let seeds: Vec<u64> = (0..config.seeds as u64)
        .map(|s| config.first_seed + s)
        .collect();
    for &seed in &seeds {
        let (masked, mask) = mcar_mask(&data.features, &data.masked, config.missing_rate, seed)?;
        let split = split_rows(masked.n_rows(), config.test_fraction, seed);
        let mut mice_result: Option<(Array2<f64>, f64)> = None;
        for (k, method) in methods.iter_mut().enumerate() {
            let t0 = Instant::now();
            let completed = if k < classical.len() {
                let (name, imputer) = &classical[k];
                if name == &config.mice.name() {
                    let out = imputer.impute(&masked, seed)?;
                    mice_result = Some((out.clone(), t0.elapsed().as_secs_f64()));
                    out
                } else if name == &deep.name() {
                    let (base, base_seconds) =
                        mice_base(&mut mice_result, &config.mice, &masked, seed)?;
                    let out = deep.refine(&masked, base.clone(), seed)?;
                    let secs = t0.elapsed().as_secs_f64() + base_seconds;
                    method.seconds.push(secs);
                    finish(
                        method, &out, &masked, &data, &mask, &sds, &split, config, seed, observer,
                    )?;
                    continue;
                } else {
                    imputer.impute(&masked, seed)?
                }
            } else {
                let (base, base_seconds) =
                    mice_base(&mut mice_result, &config.mice, &masked, seed)?;
                let j = k - classical.len();
                let out = match config.hybrids.get(j) {
                    Some(h) => h.complete(&masked, base, seed)?,
                    None => {
                        config.dense_nets[j - config.hybrids.len()].complete(&masked, base, seed)?
                    }
                };
                method
                    .seconds
                    .push(t0.elapsed().as_secs_f64() + base_seconds);
                finish(
                    method, &out, &masked, &data, &mask, &sds, &split, config, seed, observer,
                )?;
                continue;
            };
            method.seconds.push(t0.elapsed().as_secs_f64());
            finish(
                method, &completed, &masked, &data, &mask, &sds, &split, config, seed, observer,
            )?;
        }
    }
    let best = methods
        .iter()
        .filter(|m| !m.quantum)
        .max_by(|a, b| a.auc_summary().0.total_cmp(&b.auc_summary().0))
        .expect("there are classical methods");
    let comparisons = methods
        .iter()
        .filter(|m| m.quantum)
        .map(|h| {
            Ok(Comparison {
                hybrid: h.name.clone(),
                classical: best.name.clone(),
                auc_difference: h.auc_summary().0 - best.auc_summary().0,
                welch: welch_t_test(&h.auc, &best.auc)?,
            })
        })
        .collect::<Result<Vec<_>>>()
        .or_else(|e| if config.seeds < 2 { Ok(vec![]) } else { Err(e) })?;
    let mut equal_width = Vec::new();
    if config.seeds >= 2 {
        for (h, hm) in config
            .hybrids
            .iter()
            .zip(methods.iter().filter(|m| m.quantum))
        {
            let Some(net) = config
                .dense_nets
                .iter()
                .find(|d| d.config.qubits == h.config.qubits)
            else {
                continue;
            };
            let nm = methods
                .iter()
                .find(|m| m.name == net.name())
                .expect("every dense net has a row");
            equal_width.push(Comparison {
                hybrid: hm.name.clone(),
                classical: nm.name.clone(),
                auc_difference: hm.auc_summary().0 - nm.auc_summary().0,
                welch: welch_t_test(&hm.auc, &nm.auc)?,
            });
        }
    }
    let model_variance = if variance_runs > 0 {
        training_seed_variance(config, &data, &sds, seeds[0], &methods, observer)?
    } else {
        vec![]
    };
    Ok(StudyReport {
        data: config.data.display().to_string(),
        rows: data.features.n_rows(),
        features: data.features.n_cols(),
        masked_columns: data.masked.len(),
        outcome: config.outcome.clone(),
        target_column: config.target_column.clone(),
        missing_rate: config.missing_rate,
        seeds,
        best_classical: best.name.clone(),
        methods,
        comparisons,
        equal_width,
        model_variance,
        total_seconds: started.elapsed().as_secs_f64(),
    })
}

/// Retrain every hybrid and dense network with `config.training_seeds` training seeds at
/// the mask and split of `seed` (MICE's completion, their base, fixed too).
fn training_seed_variance(
    config: &StudyConfig,
    data: &StudyData,
    sds: &[f64],
    seed: u64,
    methods: &[MethodResult],
    observer: &mut dyn FnMut(&StudyEvent<'_>),
) -> Result<Vec<ModelVariance>> {
    let (masked, mask) = mcar_mask(&data.features, &data.masked, config.missing_rate, seed)?;
    let split = split_rows(masked.n_rows(), config.test_fraction, seed);
    let base = config.mice.impute(&masked, seed)?;
    let mut out = Vec::new();
    let run = |j: usize, ts: u64| -> Result<Array2<f64>> {
        match config.hybrids.get(j) {
            Some(h) => h.complete(&masked, &base, ts),
            None => config.dense_nets[j - config.hybrids.len()].complete(&masked, &base, ts),
        }
    };
    let names: Vec<String> = config
        .hybrids
        .iter()
        .map(|h| h.name())
        .chain(config.dense_nets.iter().map(|d| d.name()))
        .collect();
    for (j, name) in names.iter().enumerate() {
        let mut aucs = Vec::with_capacity(config.training_seeds);
        for k in 0..config.training_seeds as u64 {
            // Training seed 0 is the study's own run at this seed.
            let ts = if k == 0 {
                seed
            } else {
                derive_seed(seed, 0x7a1e, k)
            };
            let completed = run(j, ts)?;
            masked.check_completed(&completed, name)?;
            let (a, _, _) = score(&completed, data, &mask, sds, &split, config.logistic_c)?;
            aucs.push(a);
            observer(&StudyEvent::Done {
                method: name,
                seed: ts,
                auc: a,
            });
        }
        let across = methods
            .iter()
            .find(|m| &m.name == name)
            .map(|m| mean_std(&m.auc).1)
            .unwrap_or(f64::NAN);
        out.push(ModelVariance {
            method: name.clone(),
            seed,
            std_training: mean_std(&aucs).1,
            auc: aucs,
            std_masks: across,
        });
    }
    Ok(out)
}

/// MICE's completion of this seed (with its time), run now if MICE is not a reported
/// method and nothing ran it yet.
fn mice_base<'a>(
    cache: &'a mut Option<(Array2<f64>, f64)>,
    mice: &Mice,
    masked: &Incomplete,
    seed: u64,
) -> Result<&'a (Array2<f64>, f64)> {
    if cache.is_none() {
        let t0 = Instant::now();
        let out = mice.impute(masked, seed)?;
        *cache = Some((out, t0.elapsed().as_secs_f64()));
    }
    Ok(cache.as_ref().expect("filled above"))
}

#[allow(clippy::too_many_arguments)]
fn finish(
    method: &mut MethodResult,
    completed: &Array2<f64>,
    masked: &Incomplete,
    data: &StudyData,
    mask: &Mask,
    sds: &[f64],
    split: &(Vec<usize>, Vec<usize>),
    config: &StudyConfig,
    seed: u64,
    observer: &mut dyn FnMut(&StudyEvent<'_>),
) -> Result<()> {
    masked.check_completed(completed, &method.name)?;
    let (a, nrmse, trmse) = score(completed, data, mask, sds, split, config.logistic_c)?;
    method.auc.push(a);
    method.nrmse.push(nrmse);
    method.target_rmse.push(trmse);
    observer(&StudyEvent::Done {
        method: &method.name,
        seed,
        auc: a,
    });
    Ok(())
}

impl StudyReport {
    /// The results as a markdown table, followed by the Welch tests.
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        s.push_str(&format!(
            "{} patients, {} features, {} columns masked at {:.0} % MCAR; outcome `{}`; hybrid target `{}`; {} seeds ({}–{}).\n\n",
            self.rows,
            self.features,
            self.masked_columns,
            100.0 * self.missing_rate,
            self.outcome,
            self.target_column,
            self.seeds.len(),
            self.seeds.first().copied().unwrap_or(0),
            self.seeds.last().copied().unwrap_or(0),
        ));
        s.push_str(&format!(
            "| method | AUC mean ± std | NRMSE (all masked) | RMSE `{}` | time / seed (s) |\n|---|---:|---:|---:|---:|\n",
            self.target_column
        ));
        for m in &self.methods {
            let (a, asd) = mean_std(&m.auc);
            let (n, nsd) = mean_std(&m.nrmse);
            let (t, tsd) = mean_std(&m.target_rmse);
            let (sec, _) = mean_std(&m.seconds);
            let name = if m.name == self.best_classical {
                format!("**{}**", m.name)
            } else {
                m.name.clone()
            };
            s.push_str(&format!(
                "| {name} | {a:.4} ± {asd:.4} | {n:.3} ± {nsd:.3} | {t:.2} ± {tsd:.2} | {sec:.1} |\n"
            ));
        }
        if !self.comparisons.is_empty() {
            s.push_str(&format!(
                "\nWelch's t-test of each hybrid's AUCs against the best classical method ({}):\n\n| hybrid | ΔAUC | t | dof | p |\n|---|---:|---:|---:|---:|\n",
                self.best_classical
            ));
            for c in &self.comparisons {
                s.push_str(&format!(
                    "| {} | {:+.4} | {:.3} | {:.1} | {:.3} |\n",
                    c.hybrid, c.auc_difference, c.welch.t, c.welch.dof, c.welch.p_value
                ));
            }
        }
        if !self.equal_width.is_empty() {
            s.push_str("\nWelch's t-test of each hybrid's AUCs against the dense network of the same width (the Butterfly replaced by a dense layer):\n\n| hybrid | dense network | ΔAUC | t | dof | p |\n|---|---|---:|---:|---:|---:|\n");
            for c in &self.equal_width {
                s.push_str(&format!(
                    "| {} | {} | {:+.4} | {:.3} | {:.1} | {:.3} |\n",
                    c.hybrid,
                    c.classical,
                    c.auc_difference,
                    c.welch.t,
                    c.welch.dof,
                    c.welch.p_value
                ));
            }
        }
        if let Some(first) = self.model_variance.first() {
            s.push_str(&format!(
                "\nModel variance: AUC standard deviation across {} training seeds at the mask and split of seed {}, next to the standard deviation across the {} seeds (each a new mask and split):\n\n| model | AUC mean (training seeds) | std, training seeds | std, masks and splits |\n|---|---:|---:|---:|\n",
                first.auc.len(),
                first.seed,
                self.seeds.len()
            ));
            for v in &self.model_variance {
                let (m, sd) = mean_std(&v.auc);
                s.push_str(&format!(
                    "| {} | {m:.4} | {sd:.4} | {:.4} |\n",
                    v.method, v.std_masks
                ));
            }
        }
        s
    }

    /// One CSV row per (method, seed). The method name is always quoted (inner quotes
    /// doubled); the other fields are numbers and booleans, which never need quotes.
    ///
    /// Written by hand rather than with the csv crate: its writer quotes a field only when
    /// needed (or every field), so it cannot keep this format's always-quoted first column
    /// byte for byte.
    pub fn csv(&self) -> String {
        let mut s = String::from("method,quantum,seed,auc,nrmse,target_rmse,seconds\n");
        for m in &self.methods {
            for (i, seed) in self.seeds.iter().enumerate() {
                s.push_str(&format!(
                    "\"{}\",{},{},{},{},{},{}\n",
                    m.name.replace('"', "\"\""),
                    m.quantum,
                    seed,
                    m.auc[i],
                    m.nrmse[i],
                    m.target_rmse[i],
                    m.seconds[i]
                ));
            }
        }
        s
    }
}

impl fmt::Display for StudyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.markdown())
    }
}

impl StudyReport {
    /// Write `imputation.md`, `imputation.csv`, `imputation.json`,
    /// `imputation_auc.svg` (and `imputation_variance.svg` with model-variance rows) into
    /// `dir` (created if needed; each file written atomically).
    /// Returns the paths written.
    pub fn write_outputs(&self, dir: &std::path::Path) -> Result<Vec<PathBuf>> {
        let json = serde_json::to_string_pretty(self).expect("a report always serialises");
        self.write_outputs_as(dir, "imputation", &self.markdown(), &json)
    }

    /// Write `{stem}.md` (the given markdown), `{stem}.csv`, `{stem}.json` (the given
    /// JSON), `{stem}_auc.svg` and, when there are model-variance rows,
    /// `{stem}_variance.svg` into `dir` (created if needed; each file written
    /// atomically). Returns the paths written.
    pub fn write_outputs_as(
        &self,
        dir: &std::path::Path,
        stem: &str,
        markdown: &str,
        json: &str,
    ) -> Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let svg = super::plot::auc_plot_svg(self)?;
        let files = [
            (format!("{stem}.md"), markdown.to_string()),
            (format!("{stem}.csv"), self.csv()),
            (format!("{stem}.json"), json.to_string()),
            (format!("{stem}_auc.svg"), svg),
        ];
        let mut files = files.to_vec();
        if !self.model_variance.is_empty() {
            files.push((
                format!("{stem}_variance.svg"),
                super::plot::variance_plot_svg(self)?,
            ));
        }
        let mut written = Vec::new();
        for (name, text) in files {
            let path = dir.join(name);
            bfly_core::io::write_atomic(&path, text.as_bytes())?;
            written.push(path);
        }
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn method(name: &str, quantum: bool, base: f64) -> MethodResult {
        MethodResult {
            name: name.into(),
            quantum,
            auc: vec![base, base + 0.125],
            nrmse: vec![0.5, 1e-7],
            target_rmse: vec![20.25, 3.0],
            seconds: vec![0.017731168, 12.0],
        }
    }

    fn report(methods: Vec<MethodResult>) -> StudyReport {
        StudyReport {
            data: "data/rhc.csv".into(),
            rows: 2,
            features: 3,
            masked_columns: 1,
            outcome: "dth30".into(),
            target_column: "aps1".into(),
            missing_rate: 0.3,
            seeds: vec![1, 2],
            methods,
            best_classical: "MICE".into(),
            comparisons: Vec::new(),
            equal_width: Vec::new(),
            model_variance: Vec::new(),
            total_seconds: 1.0,
        }
    }

    #[test]
    fn csv_keeps_its_format() {
        let r = report(vec![
            method("mean", false, 0.75),
            method("hybrid 16q", true, 0.5),
        ]);
        assert_eq!(
            r.csv(),
            "method,quantum,seed,auc,nrmse,target_rmse,seconds\n\
             \"mean\",false,1,0.75,0.5,20.25,0.017731168\n\
             \"mean\",false,2,0.875,0.0000001,3,12\n\
             \"hybrid 16q\",true,1,0.5,0.5,20.25,0.017731168\n\
             \"hybrid 16q\",true,2,0.625,0.0000001,3,12\n"
        );
    }

    #[test]
    fn csv_reads_back_with_commas_and_quotes_in_method_names() {
        let odd = "KNN (k = 5), \"tuned\"";
        let r = report(vec![method(odd, false, 0.75), method("MICE", true, 0.5)]);
        let table =
            bfly_train::data::TypedTable::parse(&r.csv(), "m.csv", &Default::default()).unwrap();
        let methods = table.column("method").unwrap();
        assert_eq!(
            methods.kind,
            bfly_train::data::ColumnKind::Categorical {
                levels: vec![odd.to_string(), "MICE".to_string()]
            }
        );
        assert_eq!(
            methods.cells,
            vec![Some(0.0), Some(0.0), Some(1.0), Some(1.0)]
        );
        assert_eq!(table.column("auc").unwrap().cells[3], Some(0.625));
        assert_eq!(table.lines, vec![2, 3, 4, 5]);
    }
}
