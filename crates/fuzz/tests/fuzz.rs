//! Every committed corpus input still runs through its target (regressions found by fuzzing stay
//! fixed), and every target has a corpus.

#[test]
fn every_target_replays_its_committed_corpus() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    for target in fuzz::Target::ALL {
        let dir = root.join(target.name());
        let mut inputs = 0;
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            fuzz::run(target, &std::fs::read(&path).unwrap());
            inputs += 1;
        }
        assert!(inputs > 0, "{} has no seed inputs", target.name());
    }
}
