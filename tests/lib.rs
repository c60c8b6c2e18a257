//! Empty: this package holds the workspace's integration tests (`integration/`), one test
//! binary for every crate.
