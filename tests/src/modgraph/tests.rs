//! The checker's own tests, on trees in memory.

use std::collections::BTreeSet;

use super::Graph;

fn graph_of(files: &[(&str, &str)]) -> Graph {
    let files: Vec<(String, String)> = files
        .iter()
        .map(|(rel, text)| ((*rel).to_owned(), (*text).to_owned()))
        .collect();
    Graph::build("lib.rs", &files)
}

fn cycles_of(files: &[(&str, &str)]) -> Vec<String> {
    graph_of(files)
        .cycles()
        .iter()
        .map(|cycle| cycle.join(" -> "))
        .collect()
}

fn has_edge(graph: &Graph, from: &str, to: &str) -> bool {
    graph.edges.contains_key(&(from.to_owned(), to.to_owned()))
}

#[test]
fn a_cycle_through_a_nested_use_tree_is_found_with_its_lines() {
    let files = [
        ("lib.rs", "pub mod a;\npub mod b;\npub mod c;\n"),
        ("a.rs", "use crate::b::Y;\n\npub struct X(pub Y);\n"),
        (
            "b.rs",
            "pub struct Y;\n\nuse crate::{a::{X}, c};\n\npub fn f(_: X) {\n    c::g();\n}\n",
        ),
        ("c.rs", "pub fn g() {}\n"),
    ];
    assert_eq!(cycles_of(&files), ["a -> b"]);
    let graph = graph_of(&files);
    assert!(has_edge(&graph, "b", "c"));
    let text = graph.describe_cycles("t", "src").join("\n");
    assert!(text.starts_with("crate t: a -> b -> a\n"), "{text}");
    assert!(
        text.contains("a -> b at src/a.rs:1: use crate::b::Y;"),
        "{text}"
    );
    assert!(
        text.contains("b -> a at src/b.rs:3: use crate::{a::{X}, c};"),
        "{text}"
    );
}

#[test]
fn a_cycle_made_only_by_paths_in_code_is_found() {
    let files = [
        ("lib.rs", "pub mod a;\npub mod b;\n"),
        ("a.rs", "pub fn g() {\n    crate::b::f();\n}\n"),
        (
            "b.rs",
            "pub fn f() {\n    if false {\n        super::a::g();\n    }\n}\n",
        ),
    ];
    assert_eq!(cycles_of(&files), ["a -> b"]);
    let graph = graph_of(&files);
    assert_eq!(
        graph.edges[&("a".to_owned(), "b".to_owned())],
        BTreeSet::from([("a.rs".to_owned(), 2)])
    );
    assert_eq!(
        graph.edges[&("b".to_owned(), "a".to_owned())],
        BTreeSet::from([("b.rs".to_owned(), 3)])
    );
}

#[test]
fn super_inside_an_inline_module_is_the_file_module_itself() {
    let child = "pub struct Thing;\n\
                 fn brace() -> char {\n    '{'\n}\n\
                 #[cfg(test)]\n\
                 mod tests {\n    use super::Thing;\n\n    #[test]\n    fn t() {\n        \
                 let _ = super::Thing;\n        let _ = \"}\";\n    }\n}\n";
    let files = [
        ("lib.rs", "pub mod a;\n"),
        ("a.rs", "mod b;\npub use b::Thing;\n\npub fn helper() {}\n"),
        ("a/b.rs", child),
    ];
    assert!(cycles_of(&files).is_empty());
    let graph = graph_of(&files);
    assert!(has_edge(&graph, "a", "a::b"));
    assert!(!has_edge(&graph, "a::b", "a"));

    // Once `mod tests` is closed, `super::` is the parent again: now there is a cycle.
    let child = format!("{child}\npub fn after() {{\n    super::helper();\n}}\n");
    let files = [files[0], files[1], ("a/b.rs", child.as_str())];
    assert_eq!(cycles_of(&files), ["a -> a::b"]);
}

#[test]
fn paths_in_comments_strings_and_char_literals_do_not_count() {
    let a = "// use crate::b;\n\
             /* use crate::b; /* nested */ crate::b::x() */\n\
             /// Docs naming `crate::b::x`.\n\
             pub fn f() -> &'static str {\n    \
             let _quote = '\"';\n    \
             let _escaped = '\\'';\n    \
             let _raw = r#\"crate::b::x() \" { still the string\"#;\n    \
             let _bytes = br\"crate::b::y\";\n    \
             \"crate::b::x {\"\n}\n";
    let b = "use crate::a::f;\n\npub fn x() -> &'static str {\n    f()\n}\n";
    let files = [
        ("lib.rs", "pub mod a;\npub mod b;\n"),
        ("a.rs", a),
        ("b.rs", b),
    ];
    assert!(cycles_of(&files).is_empty());
    assert!(!has_edge(&graph_of(&files), "a", "b"));

    // The same file with one real path after all that is a cycle.
    let a = format!("{a}\npub fn g() {{\n    crate::b::x();\n}}\n");
    let files = [files[0], ("a.rs", a.as_str()), files[2]];
    assert_eq!(cycles_of(&files), ["a -> b"]);
}

#[test]
fn an_acyclic_tree_passes_and_the_root_facade_is_no_edge() {
    let files = [
        (
            "lib.rs",
            "pub mod a;\npub mod b;\npub mod c;\n\npub use a::A;\n",
        ),
        ("a.rs", "use crate::b::B;\n\npub struct A(B);\n"),
        ("b.rs", "use super::c::C;\n\npub struct B(C);\n"),
        (
            "c.rs",
            "use crate::A;\n\npub struct C;\npub fn f(_: A) {}\n",
        ),
    ];
    assert!(cycles_of(&files).is_empty());
    let graph = graph_of(&files);
    assert!(has_edge(&graph, "a", "b"));
    assert!(has_edge(&graph, "b", "c"));
    assert!(has_edge(&graph, "", "a"));
    assert!(graph.describe_cycles("t", "src").is_empty());
}

#[test]
fn relative_paths_imported_names_and_included_files_resolve() {
    let files = [
        (
            "lib.rs",
            "pub mod engine;\npub mod oauth;\npub mod status;\n",
        ),
        // `login` is a child module; `refresh` an imported module; `Status` an imported type.
        (
            "engine.rs",
            "mod login;\npub use login::Prompt;\nuse crate::oauth::refresh;\n\
             use crate::status::Status;\n\npub struct Engine;\n\
             pub fn go() {\n    refresh::run();\n    let _ = Status::new();\n}\n",
        ),
        (
            "engine/login.rs",
            "use super::Engine;\npub struct Prompt;\n",
        ),
        ("oauth/mod.rs", "pub mod refresh;\n"),
        ("oauth/refresh.rs", "pub fn run() {}\n"),
        ("status.rs", "include!(\"status_names.rs\");\n"),
        (
            "status_names.rs",
            "pub const X: u8 = crate::oauth::refresh::N;\n",
        ),
    ];
    let graph = graph_of(&files);
    assert_eq!(cycles_of(&files), ["engine -> engine::login"]);
    assert!(has_edge(&graph, "engine", "oauth::refresh"));
    assert_eq!(
        graph.edges[&("engine".to_owned(), "status".to_owned())],
        BTreeSet::from([("engine.rs".to_owned(), 4), ("engine.rs".to_owned(), 9)])
    );
    assert!(!has_edge(&graph, "engine", "oauth"));
    // The included file is part of `status`, not a module of its own.
    assert!(has_edge(&graph, "status", "oauth::refresh"));
    assert!(!graph.nodes.contains("status_names"));
}

#[test]
fn other_crates_and_the_module_itself_are_no_edge() {
    let files = [
        ("lib.rs", "pub mod a;\npub mod b;\n"),
        (
            "a.rs",
            "use std::fmt;\nuse ::b::x;\nuse tokio::sync::{self, watch};\n\
             pub fn f() {\n    self::f();\n    crate::a::f();\n    fmt::Display::fmt;\n}\n",
        ),
        ("b.rs", "use crate::a::f;\n"),
    ];
    let graph = graph_of(&files);
    assert!(cycles_of(&files).is_empty());
    assert!(!has_edge(&graph, "a", "b"));
    assert!(has_edge(&graph, "b", "a"));
}

#[test]
fn a_longer_loop_is_found_and_every_edge_of_it_is_shown() {
    let files = [
        ("lib.rs", "pub mod a;\npub mod b;\npub mod c;\n"),
        ("a.rs", "use crate::b::B;\nuse crate::c::C;\n"),
        ("b.rs", "pub struct B;\nuse crate::c::C;\n"),
        (
            "c.rs",
            "pub struct C;\npub fn f() {\n    crate::a::g();\n}\n",
        ),
    ];
    assert_eq!(cycles_of(&files), ["a -> b -> c", "a -> c"]);
    let text = graph_of(&files).describe_cycles("t", "src").join("\n");
    assert!(text.contains("crate t: a -> b -> c -> a\n"), "{text}");
    assert!(
        text.contains("c -> a at src/c.rs:3: crate::a::g();"),
        "{text}"
    );
}
