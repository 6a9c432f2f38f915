//! The numeric CSV loader: accepted shapes and errors that name file, line and column.

use butterfly_mps::data::Table;
use butterfly_mps::Error;

#[test]
fn quoted_headers_spaces_and_missing_values() {
    let text = "\u{feff}\"age\", \"body mass\",y,\"note, with comma\"\r\n 61, 27.5,1,0\n\n\"62\",NA,0, 1e-3\r\n63,,1,\"-2\"\n70, NaN ,0,4\n";
    let t = Table::parse(text, "patients.csv").unwrap();
    assert_eq!(t.columns, vec!["age", "body mass", "y", "note, with comma"]);
    assert_eq!(t.rows.len(), 4);
    assert_eq!(
        t.rows[0],
        vec![Some(61.0), Some(27.5), Some(1.0), Some(0.0)]
    );
    assert_eq!(t.rows[1], vec![Some(62.0), None, Some(0.0), Some(1e-3)]);
    assert_eq!(t.rows[2], vec![Some(63.0), None, Some(1.0), Some(-2.0)]);
    assert_eq!(
        t.lines,
        vec![2, 4, 5, 6],
        "source lines, blank line skipped"
    );
    let sel = t
        .select(&["age".into(), "body mass".into()], &["y".into()])
        .unwrap();
    assert_eq!(sel.dropped, 3);
    assert_eq!(sel.dataset.len(), 1);
    let sel = t.select(&["age".into()], &["y".into()]).unwrap();
    assert_eq!((sel.dropped, sel.dataset.len()), (0, 4));
    assert_eq!(t.column("note, with comma").unwrap()[3], Some(4.0));
}

fn err(text: &str) -> String {
    let e = Table::parse(text, "data/in.csv").unwrap_err();
    assert!(matches!(e, Error::Table { .. }), "{e:?}");
    e.to_string()
}

#[test]
fn errors_name_file_line_and_column() {
    let e = err("a,b\n1,2\n3,x7\n");
    assert!(
        e.starts_with("data/in.csv:3, column \"b\":") && e.contains("\"x7\" is not a number"),
        "{e}"
    );
    let e = err("a,b\n1,2,3\n");
    assert!(
        e.contains("data/in.csv:2") && e.contains("3 cells") && e.contains("2 columns"),
        "{e}"
    );
    let e = err("a,a\n1,2\n");
    assert!(e.contains("column \"a\"") && e.contains("twice"), "{e}");
    let e = err("a,\"b\n1,2\n");
    assert!(
        e.contains("data/in.csv:1") && e.contains("never closed"),
        "{e}"
    );
    let e = err("a,b\n1,inf\n");
    assert!(e.contains("column \"b\"") && e.contains("finite"), "{e}");
    let e = err("");
    assert!(e.contains("empty"), "{e}");
    let e = err("a,,c\n1,2,3\n");
    assert!(e.contains("header cell 2 is empty"), "{e}");
    let e = err("a,b\n1,2\"x\"\n");
    assert!(e.contains("quote"), "{e}");

    let t = Table::parse("a,b\n1,2\n", "in.csv").unwrap();
    let e = t
        .select(&["a".into()], &["target".into()])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("\"target\"") && e.contains("the header has: a, b"),
        "{e}"
    );
    let e = t
        .select(&["a".into()], &["a".into()])
        .unwrap_err()
        .to_string();
    assert!(e.contains("both a feature and a target"), "{e}");
}

#[test]
fn files_are_read_and_missing_files_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.csv");
    std::fs::write(&path, "x,y\n1,2\n").unwrap();
    let t = Table::read(&path).unwrap();
    assert_eq!(t.source, path);
    let e = Table::read(dir.path().join("missing.csv")).unwrap_err();
    assert!(matches!(e, Error::Io { .. }) && e.to_string().contains("missing.csv"));
}

#[test]
fn split_is_seeded_and_complete() {
    let t = Table::parse(
        &(0..50).fold("x,y\n".to_string(), |s, i| s + &format!("{i},{}\n", i % 2)),
        "s.csv",
    )
    .unwrap();
    let d = t.select(&["x".into()], &["y".into()]).unwrap().dataset;
    let (a, b) = d.split(0.2, 3).unwrap();
    let (a2, b2) = d.split(0.2, 3).unwrap();
    assert_eq!((a.len(), b.len()), (40, 10));
    assert_eq!((&a, &b), (&a2, &b2));
    let mut all: Vec<f64> = a.features.iter().chain(&b.features).map(|r| r[0]).collect();
    all.sort_by(f64::total_cmp);
    assert_eq!(all, (0..50).map(f64::from).collect::<Vec<_>>());
    assert_ne!(d.split(0.2, 4).unwrap().1, b);
    assert_ne!(d.fingerprint(), a.fingerprint());
}
