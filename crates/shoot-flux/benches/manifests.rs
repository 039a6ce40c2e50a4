//! Rendering time of the cases in `common` (`cargo bench -p gardener-extension-shoot-flux
//! --bench manifests`).

mod common;

use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    for (name, op) in common::cases() {
        c.bench_function(&name, |b| b.iter(&op));
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
