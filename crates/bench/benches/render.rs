//! Criterion's render times for every extension's cases (the `common` modules beside each
//! extension, shared with `allocations`): `cargo bench -p bench --bench render [-- FILTER]`, for
//! example `-- render/typical`. One bench executable for all three keeps `cargo xtask bench` to a
//! single whole-program-optimized link for its timings.

#[path = "../../os-coreos/benches/common/mod.rs"]
mod os_coreos_cases;
#[path = "../../runtime-gvisor/benches/common/mod.rs"]
mod runtime_gvisor_cases;
#[path = "../../shoot-flux/benches/common/mod.rs"]
mod shoot_flux_cases;

use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let cases = os_coreos_cases::cases()
        .into_iter()
        .chain(runtime_gvisor_cases::cases())
        .chain(shoot_flux_cases::cases());
    for (name, op) in cases {
        c.bench_function(&name, |b| b.iter(&op));
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
