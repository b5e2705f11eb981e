//! No crate of the workspace has an import cycle between its modules, and it is kept that way.
//!
//! A module is a room of the code: it should be possible to understand it knowing only the rooms
//! it imports. When two modules import each other (directly, or round a longer loop), neither can
//! be read, tested or changed apart from the other: they are one room with a wall drawn through
//! it. So this test reads every crate's sources and fails on any cycle, naming the lines that
//! close it.
//!
//! How the graph is made, what counts as an import, and the checker's own tests are in
//! `tests/src/modgraph/`.

use std::path::Path;

#[test]
fn no_crate_has_an_import_cycle_between_its_modules() {
    let workspace = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    tokentray_tests::modgraph::assert_no_import_cycles(workspace);
}
