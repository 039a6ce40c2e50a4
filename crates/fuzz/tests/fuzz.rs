//! Every committed corpus input still runs through its target (regressions found by fuzzing stay
//! fixed), and the corpus directories are exactly the targets (`cargo xtask fuzz` runs one per
//! directory).

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

#[test]
fn corpus_directories_are_exactly_the_targets() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut dirs: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    let mut names: Vec<String> = fuzz::Target::ALL
        .iter()
        .map(|t| t.name().to_string())
        .collect();
    names.sort();
    assert_eq!(dirs, names);
}
