//! `tokentray --version` names the commit it was built from (build_version.rs).

include!("build_version.rs");

fn main() {
    emit_version();
}
