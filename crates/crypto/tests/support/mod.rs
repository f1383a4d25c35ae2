//! Shared by the frozen-vector tests: where the vectors live and how a folder of
//! one-vector-per-file documents is checked.

#![allow(dead_code)] // each test binary uses a part of this module

use std::path::PathBuf;

use serde_json::Value;

/// `test-vectors/<folder>` at the workspace root.
pub fn vectors_dir(folder: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../test-vectors")
        .join(folder)
}

/// The `.json` files of `test-vectors/<folder>`, sorted.
pub fn vector_files(folder: &str) -> Vec<PathBuf> {
    let dir = vectors_dir(folder);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

/// Checks every file of `test-vectors/<folder>` (each one vector with `description` and
/// `valid`): a valid vector must pass `check`, an invalid one must fail it. Panics listing every
/// wrong outcome; returns how many valid and invalid vectors were checked.
pub fn check_vector_files(
    folder: &str,
    check: impl Fn(&Value) -> Result<(), String>,
) -> (usize, usize) {
    let (mut valid, mut invalid) = (0, 0);
    let mut wrong = Vec::new();
    for path in vector_files(folder) {
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let v: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()));
        let expected = v["valid"]
            .as_bool()
            .unwrap_or_else(|| panic!("{}: no `valid` flag", path.display()));
        assert!(
            v["description"].is_string(),
            "{} lacks a description",
            path.display()
        );
        let got = check(&v);
        if got.is_ok() != expected {
            wrong.push(format!(
                "{} ({}): expected valid={expected}, got {got:?}",
                path.display(),
                v["description"]
            ));
        }
        if expected {
            valid += 1;
        } else {
            invalid += 1;
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    (valid, invalid)
}
