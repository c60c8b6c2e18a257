//! A check shared by the integration tests and the `rl` command's tests (included with
//! `#[path]`): two runs wrote the same metrics.

use std::path::Path;

/// Asserts that two runs of `updates` updates wrote the same `metrics.csv`, every column but
/// the timings (wall time, throughput, collect and step milliseconds), cell for cell.
pub fn assert_same_metrics(straight: &Path, resumed: &Path, updates: u64) {
    let read = |dir: &Path| std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    let (a, b) = (read(straight), read(resumed));
    let header: Vec<&str> = a.lines().next().unwrap().split(',').collect();
    assert_eq!(a.lines().count(), b.lines().count(), "rows");
    assert_eq!(
        a.lines().count() as u64,
        updates + 1,
        "a header and one row per update"
    );
    for (row, (x, y)) in a.lines().zip(b.lines()).enumerate() {
        let cells = |line: &str| line.split(',').map(str::to_string).collect::<Vec<_>>();
        for ((name, p), q) in header.iter().zip(cells(x)).zip(cells(y)) {
            if !["wall_s", "transitions_per_s", "collect_ms", "step_ms"].contains(name) {
                assert_eq!(p, q, "row {row}, column {name}");
            }
        }
    }
}
