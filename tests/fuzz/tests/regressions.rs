//! Every input kept for a fuzz target (`corpus/<target>/`: seeds from the fixtures, and each input
//! that once made a target fail, kept after the fix) runs through its target again: a parser that
//! regresses fails here, in the test command, without a fuzzer.

#[test]
fn every_kept_input_passes_its_target() {
    let mut ran = 0;
    for (name, target) in docent_fuzz::TARGETS {
        let dir = docent_fuzz::corpus_dir().join(name);
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e} (every target keeps seeds)", dir.display()));
        let mut inputs = 0;
        for entry in entries {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            let outcome = std::panic::catch_unwind(|| target(&data));
            assert!(outcome.is_ok(), "{name}: {} fails its target", path.display());
            inputs += 1;
        }
        assert!(inputs > 0, "{name} has no seeds in {}", dir.display());
        ran += inputs;
    }
    assert!(ran >= docent_fuzz::TARGETS.len());
}
