//! Training files: checkpoints (`Checkpoint::from_json`, what `Checkpoint::load` and
//! `bfly train --resume` run on a file's text) and trained models (`HybridModel::from_json`,
//! what `HybridModel::load` and `bfly infer` run). A checkpoint that loads must restore its
//! RNG; a model that loads must build its circuit and predict on a zero input; both must
//! load back from their own JSON.
#![no_main]

use bfly_train::{Checkpoint, HybridModel};
use libfuzzer_sys::fuzz_target;

fn exercise(model: &HybridModel) {
    let _ = model.circuit();
    let _ = model.predict(&vec![0.0; model.pre.cols]);
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(cp) = Checkpoint::from_json(text, "fuzz.json") {
        let _ = cp.state.rng.restore();
        exercise(&cp.state.model);
        let again = Checkpoint::from_json(&cp.to_json(), "again.json")
            .expect("a loaded checkpoint re-loads");
        assert_eq!(again, cp, "a checkpoint round-trips through its JSON");
    }
    if let Ok(model) = HybridModel::from_json(text, "fuzz.json") {
        exercise(&model);
        let again = HybridModel::from_json(&model.to_json(), "again.json")
            .expect("a loaded model re-loads");
        assert_eq!(again, model, "a model round-trips through its JSON");
    }
});
