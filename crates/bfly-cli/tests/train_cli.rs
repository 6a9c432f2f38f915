//! `bfly train` end to end: CSV in, model out, logs, the cost table, a real SIGKILL and
//! `--resume`, and clear errors.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn bfly(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bfly"))
        .args(args)
        .output()
        .expect("bfly runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A CSV with a quoted header, leading spaces and some NA cells.
fn write_csv(path: &Path, rows: usize) {
    let mut s = String::from("\"age\", \"bmi\",hr,\"y\"\n");
    for i in 0..rows {
        let a = ((i * 37) % 100) as f64 / 10.0 - 5.0;
        let b = ((i * 53) % 89) as f64 / 20.0 - 2.0;
        let h = ((i * 11) % 61) as f64 / 15.0 - 2.0;
        let y = (0.5 * a).sin() + 0.3 * b * h;
        let bmi = if i % 29 == 0 {
            "NA".to_string()
        } else {
            format!(" {b:.4}")
        };
        let y = if i % 41 == 0 {
            "NA".to_string()
        } else {
            format!("{y:.5}")
        };
        s.push_str(&format!("{a:.3},{bmi},{h:.4},{y}\n"));
    }
    std::fs::write(path, s).unwrap();
}

fn train_args<'a>(csv: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "train",
        "--data",
        csv,
        "--target",
        "y",
        "--features",
        "age,bmi,hr",
        "--qubits",
        "16",
        "--layers",
        "4",
        "--gradient",
        "parallel-shift",
        "--shots",
        "1000",
        "--epochs",
        "6",
        "--seed",
        "5",
        "--out",
        out,
    ]
}

#[test]
fn trains_from_csv_and_writes_model_report_and_log() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("d.csv");
    write_csv(&csv, 300);
    let out = dir.path().join("model.json");
    let log = dir.path().join("log.jsonl");
    let mut args = train_args(csv.to_str().unwrap(), out.to_str().unwrap());
    args.extend(["--log-json", log.to_str().unwrap(), "--json"]);
    let o = bfly(&args);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("dropped 18 of 300 rows"),
        "{}",
        text(&o.stderr)
    );
    let report: serde_json::Value = serde_json::from_str(&text(&o.stdout)).unwrap();
    assert_eq!(report["dropped_rows"], 18);
    assert_eq!(report["training"]["epochs"], 24);
    assert_eq!(report["training"]["layers"], 4);
    let c = &report["training"]["counters"];
    assert!(c["gradient_circuits"].as_u64().unwrap() > 0);
    assert_eq!(
        c["gradient_shots"].as_u64().unwrap(),
        1000 * c["gradient_circuits"].as_u64().unwrap()
    );
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 24);
    assert_eq!(lines[23]["epoch"], 24);
    assert!(lines[0]["train_loss"].as_f64().unwrap() > lines[23]["train_loss"].as_f64().unwrap());
    let model = butterfly_mps::train::HybridModel::load(&out).unwrap();
    assert_eq!(model.feature_names, ["age", "bmi", "hr"]);
    assert!(model.predict(&[1.0, 0.5, -0.2]).unwrap()[0].is_finite());
}

/// Two trainings started together on one `--log-json` (and a log that already holds a
/// line): every record is a whole JSON line, none is lost, and the old line is kept.
#[test]
fn concurrent_trainings_append_whole_lines_to_one_log() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("d.csv");
    write_csv(&csv, 300);
    let log = dir.path().join("log.jsonl");
    std::fs::write(&log, "{\"earlier\": true}\n").unwrap();
    let children: Vec<_> = ["a.json", "b.json"]
        .iter()
        .map(|name| {
            let out = dir.path().join(name);
            let mut args = train_args(csv.to_str().unwrap(), out.to_str().unwrap());
            args.extend(["--log-json", log.to_str().unwrap()]);
            Command::new(env!("CARGO_BIN_EXE_bfly"))
                .args(&args)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let o = child.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", text(&o.stderr));
    }
    let content = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<serde_json::Value> = content
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(lines[0]["earlier"], true);
    // 24 epochs per run (see the test above), two runs.
    assert_eq!(lines.len(), 1 + 2 * 24, "{content}");
    for epoch in 1..=24 {
        let n = lines.iter().filter(|l| l["epoch"] == epoch).count();
        assert_eq!(n, 2, "epoch {epoch}");
    }
}

#[test]
fn prints_the_measured_cost_table() {
    let o = bfly(&["train", "--cost-table", "--json"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let t: serde_json::Value = serde_json::from_str(&text(&o.stdout)).unwrap();
    let rows: Vec<(u64, u64, u64)> = t["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["qubits"].as_u64().unwrap(),
                r["parallel_circuits"].as_u64().unwrap(),
                r["per_parameter_circuits"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(rows, vec![(16, 16, 128), (32, 20, 320), (128, 28, 1792)]);
    let o = bfly(&["train", "--cost-table"]);
    assert!(text(&o.stdout).contains("1792"), "{}", text(&o.stdout));
}

#[test]
fn a_killed_process_resumes_to_the_same_model() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("d.csv");
    write_csv(&csv, 600);
    let (csv, full, resumed, cp) = (
        csv.to_str().unwrap().to_string(),
        dir.path().join("full.json"),
        dir.path().join("resumed.json"),
        dir.path().join("cp.json"),
    );
    let o = bfly(&train_args(&csv, full.to_str().unwrap()));
    assert!(o.status.success(), "{}", text(&o.stderr));

    // Start the same run with a checkpoint and SIGKILL it once stage 2 is under way (epoch ≥ 8 of 24).
    let mut args = train_args(&csv, resumed.to_str().unwrap());
    args.extend(["--checkpoint", cp.to_str().unwrap()]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_bfly"))
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    let mut epoch_at_kill = None;
    while t0.elapsed() < Duration::from_secs(60) {
        if let Ok(cpf) = butterfly_mps::train::Checkpoint::load(&cp) {
            if cpf.state.epoch >= 8 {
                epoch_at_kill = Some(cpf.state.epoch);
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let _ = child.kill(); // SIGKILL: no chance to clean up
    child.wait().unwrap();
    let epoch_at_kill = epoch_at_kill.expect("no checkpoint past epoch 8 within 60 s");
    let saved = butterfly_mps::train::Checkpoint::load(&cp).unwrap();
    assert!(
        !saved.state.finished && saved.state.epoch < 24,
        "killed too late (epoch {})",
        saved.state.epoch
    );
    assert!(!resumed.exists());

    args.push("--resume");
    let o = bfly(&args);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains(&format!("resumed after epoch {}", saved.state.epoch)),
        "{}",
        text(&o.stdout)
    );
    // Float round-trip JSON: identical text ⇔ bit-identical parameters.
    assert_eq!(
        std::fs::read_to_string(&full).unwrap(),
        std::fs::read_to_string(&resumed).unwrap()
    );
    println!("killed after epoch {epoch_at_kill} (checkpoint at {}), resumed: model file identical to the uninterrupted run", saved.state.epoch);
}

#[test]
fn errors_name_what_to_fix() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("d.csv");
    write_csv(&csv, 50);
    let out = dir.path().join("m.json");
    let (c, o_) = (csv.to_str().unwrap(), out.to_str().unwrap());
    let o = bfly(&["train", "--data", c, "--target", "label", "--out", o_]);
    assert!(!o.status.success());
    let e = text(&o.stderr);
    assert!(
        e.contains("\"label\"") && e.contains("the header has: age, bmi, hr, y"),
        "{e}"
    );

    let o = bfly(&[
        "train",
        "--data",
        c,
        "--target",
        "y",
        "--out",
        o_,
        "--checkpoint",
        "/nonexistent/cp.json",
        "--resume",
    ]);
    assert!(
        text(&o.stderr).contains("no checkpoint to resume from"),
        "{}",
        text(&o.stderr)
    );

    let o = bfly(&[
        "train", "--data", c, "--target", "y", "--out", o_, "--shots", "100",
    ]);
    assert!(
        text(&o.stderr).contains("take no shots"),
        "{}",
        text(&o.stderr)
    );

    let o = bfly(&[
        "train",
        "--data",
        c,
        "--target",
        "y",
        "--out",
        o_,
        "--gradient",
        "parallel-shift",
        "--joint",
    ]);
    assert!(
        text(&o.stderr).contains("trailing layer"),
        "{}",
        text(&o.stderr)
    );

    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "a,y\n1,2\n3,oops\n").unwrap();
    let o = bfly(&[
        "train",
        "--data",
        bad.to_str().unwrap(),
        "--target",
        "y",
        "--out",
        o_,
    ]);
    let e = text(&o.stderr);
    assert!(
        e.contains("bad.csv:3, column \"y\"") && e.contains("\"oops\" is not a number"),
        "{e}"
    );
    assert!(!out.exists());
}

#[test]
fn infer_scores_a_trained_model_exactly_and_with_shots() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("d.csv");
    write_csv(&csv, 300);
    let model = dir.path().join("m.json");
    let (csv, model_s) = (csv.to_str().unwrap(), model.to_str().unwrap());
    let mut args = train_args(csv, model_s);
    let g = args.iter().position(|a| *a == "parallel-shift").unwrap();
    args[g] = "exact";
    args.retain(|a| *a != "--shots" && *a != "1000");
    let o = bfly(&args);
    assert!(o.status.success(), "{}", text(&o.stderr));

    // Exact marginals on the state vector reproduce exact simulation to round-off.
    let preds = dir.path().join("p.csv");
    let o = bfly(&[
        "infer",
        "--model",
        model_s,
        "--data",
        csv,
        "--backend",
        "statevector",
        "--json",
        "--out",
        preds.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        r["rows"],
        300 - 11 - 8 + 1,
        "rows with NA in bmi (11) or y (8, one shared) are skipped"
    );
    assert!(
        r["max_deviation_from_exact"].as_f64().unwrap() < 1e-10,
        "{r}"
    );
    // The state vector is exact up to rounding: its metrics equal the exact ones to the
    // last few bits (not necessarily bit for bit: sums over rows round differently).
    let (metrics, exact) = (
        r["metrics"].as_object().unwrap(),
        r["exact_metrics"].as_object().unwrap(),
    );
    assert_eq!(
        metrics.keys().collect::<Vec<_>>(),
        exact.keys().collect::<Vec<_>>()
    );
    for (key, value) in metrics {
        match (value.as_f64(), exact[key].as_f64()) {
            (Some(a), Some(b)) => {
                assert!(
                    (a - b).abs() <= 1e-12 * b.abs().max(1.0),
                    "{key}: {a} vs {b}"
                )
            }
            _ => assert_eq!(value, &exact[key], "{key}"),
        }
    }
    let lines = std::fs::read_to_string(&preds).unwrap();
    assert_eq!(lines.lines().next().unwrap(), "y_predicted,y_exact");
    assert_eq!(
        lines.lines().count(),
        1 + r["rows"].as_u64().unwrap() as usize
    );

    // With 2000 shots the predictions move by shot noise only.
    let o = bfly(&[
        "infer", "--model", model_s, "--data", csv, "--shots", "2000", "--limit", "50", "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let (max, mean) = (
        r["max_deviation_from_exact"].as_f64().unwrap(),
        r["mean_deviation_from_exact"].as_f64().unwrap(),
    );
    assert!(mean > 0.0 && max < 0.5, "{r}");
    assert_eq!(r["total_shots"], 50 * 2000);

    // Clear errors: a batch of 0, a model file that is not a model.
    let o = bfly(&["infer", "--model", model_s, "--data", csv, "--batch", "0"]);
    assert!(!o.status.success() && text(&o.stderr).contains("batch size"));
    let o = bfly(&["infer", "--model", csv, "--data", csv]);
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("d.csv"), "{}", text(&o.stderr));
}
