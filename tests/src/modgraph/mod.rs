//! The module graph of each crate of the workspace, and the import cycles in it: the check that
//! `tests/tests/modules.rs` runs over the real tree.
//!
//! How the graph is made, with the standard library only (no Rust parser):
//!
//! - **Nodes** are the modules that are files: the crate's root file is the root module,
//!   `foo.rs` or `foo/mod.rs` is `foo`, `foo/bar.rs` is `foo::bar`. A file pulled in with
//!   `include!("...")` is part of the module that includes it. Inline modules (`mod tests { }`)
//!   belong to their file's node, but paths inside them resolve from where they are written:
//!   `super::` in `mod tests` of `a::b` means `a::b`.
//! - **Edges** go from a file's module to every module that one of its paths names: `use`
//!   declarations (any visibility, nested `{ }` trees, `self`, `super` and `crate` prefixes, and
//!   2018 relative paths such as `use login::X` where `login` is a child module) and paths
//!   written in code (`crate::oauth::classify::classify(..)`, `super::slot::Slot`, or `Name::f()`
//!   where `Name` was imported). A path counts for the longest prefix of it that is a file
//!   module. Paths into other crates, to the module itself, or only to the crate root (a facade of
//!   re-exports) make no edge. Comments, string and char literals are skipped.
//!
//! Reading the files' text is [`scan`]'s part; this module resolves the paths, builds the graph,
//! finds its cycles and words the report.

mod scan;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::path::Path;

use scan::{lex, walk, Facts, PathRef, Token};

/// One crate's sources.
struct Root {
    /// The crate's name in messages.
    name: &'static str,
    /// Its source directory, relative to the workspace root.
    dir: &'static str,
    /// Its root file, relative to `dir`.
    root_file: &'static str,
    /// Whether the directory must exist (so that the check cannot silently check nothing).
    required: bool,
}

/// Every crate of the workspace.
const ROOTS: [Root; 7] = [
    Root {
        name: "core",
        dir: "crates/core/src",
        root_file: "lib.rs",
        required: true,
    },
    Root {
        name: "host",
        dir: "crates/host/src",
        root_file: "lib.rs",
        required: true,
    },
    Root {
        name: "cli",
        dir: "crates/cli/src",
        root_file: "main.rs",
        required: true,
    },
    Root {
        name: "src-tauri",
        dir: "src-tauri/src",
        root_file: "main.rs",
        required: true,
    },
    Root {
        name: "tests",
        dir: "tests/src",
        root_file: "lib.rs",
        required: true,
    },
    Root {
        name: "bare-tray",
        dir: "tests/bare-tray/src",
        root_file: "main.rs",
        required: false,
    },
    Root {
        name: "bare-sni",
        dir: "tests/bare-sni/src",
        root_file: "main.rs",
        required: false,
    },
];

/// Said once under the cycles found.
const HOW_TO_BREAK: &str = "To break a cycle, move what both sides share (usually one type, \
     such as an error) into a lower module that imports neither of them, so that every import \
     points one way.";

/// Panics unless no crate of the workspace at `workspace` has a module import cycle, naming
/// every cycle and the lines that close it; also panics when a crate's sources are missing or a
/// workspace member is not checked.
pub fn assert_no_import_cycles(workspace: &Path) {
    let found = workspace_cycles(workspace);
    assert!(
        found.is_empty(),
        "{} module import cycle(s):\n\n{}\n\n{HOW_TO_BREAK}",
        found.len(),
        found.join("\n\n")
    );
}

/// Every module import cycle of every crate of the workspace at `workspace`, each described as
/// `crate NAME: a -> b -> a` followed by the lines that make each of its imports. Panics when a
/// crate's sources are missing or a workspace member is not checked.
pub fn workspace_cycles(workspace: &Path) -> Vec<String> {
    check_every_member_is_listed(workspace);
    let mut found = Vec::new();
    for root in &ROOTS {
        let dir = workspace.join(root.dir);
        if !dir.is_dir() {
            assert!(
                !root.required,
                "{} (the sources of crate {}) is missing: update ROOTS in \
                 tests/src/modgraph/mod.rs so that the check goes on checking that crate",
                dir.display(),
                root.name
            );
            continue;
        }
        let files = read_sources(&dir, &dir);
        assert!(
            files.iter().any(|(rel, _)| rel == root.root_file),
            "{} has no {}: update ROOTS in tests/src/modgraph/mod.rs",
            dir.display(),
            root.root_file
        );
        let graph = Graph::build(root.root_file, &files);
        found.extend(graph.describe_cycles(root.name, root.dir));
    }
    found
}

/// Fails unless every member of the workspace has its `src` in [`ROOTS`], so a new crate is not
/// silently left unchecked.
fn check_every_member_is_listed(workspace: &Path) {
    let manifest = std::fs::read_to_string(workspace.join("Cargo.toml"))
        .unwrap_or_else(|e| panic!("read the workspace's Cargo.toml: {e}"));
    let Some(start) = manifest
        .lines()
        .position(|l| l.trim_start().starts_with("members"))
    else {
        panic!("the workspace's Cargo.toml has no `members`: update tests/src/modgraph/mod.rs");
    };
    let mut list = String::new();
    for line in manifest.lines().skip(start) {
        list.push_str(line.split('#').next().unwrap_or_default());
        if line.contains(']') {
            break;
        }
    }
    let members: Vec<&str> = list.split('"').skip(1).step_by(2).collect();
    assert!(
        !members.is_empty(),
        "found no workspace members in Cargo.toml: update tests/src/modgraph/mod.rs"
    );
    for member in members {
        let src = format!("{member}/src");
        assert!(
            ROOTS.iter().any(|root| root.dir == src),
            "workspace member {member} is not checked for import cycles: add {src} to ROOTS in \
             tests/src/modgraph/mod.rs"
        );
    }
}

/// Every `.rs` file under `dir`, as (path relative to `base` with `/`, text), sorted.
fn read_sources(base: &Path, dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
    for entry in entries {
        let path = entry
            .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
            .path();
        if path.is_dir() {
            out.extend(read_sources(base, &path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
            let rel = path
                .strip_prefix(base)
                .unwrap_or(&path)
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            out.push((rel, text));
        }
    }
    out.sort();
    out
}

// ---- Resolving paths to modules. ----

/// What a name means in a module.
enum Found {
    /// A path in this crate, from the root.
    Local(Vec<String>),
    /// Something of another crate.
    External,
    /// Nothing known (a type parameter, a prelude name, another crate).
    Missing,
}

/// The crate's modules and imports, to resolve paths with.
#[derive(Default)]
struct Resolver {
    /// Every module, file or inline.
    modules: HashSet<Vec<String>>,
    /// Per module, the names its `use` declarations bind (the first wins).
    bindings: HashMap<Vec<String>, HashMap<String, PathRef>>,
    /// Per module, its glob imports.
    globs: HashMap<Vec<String>, Vec<PathRef>>,
}

/// How deep imports of imports are followed.
const MAX_DEPTH: usize = 16;

impl Resolver {
    /// `path` from the crate root, or `None` when it leaves the crate or is unknown.
    fn resolve(&self, path: &PathRef) -> Option<Vec<String>> {
        self.resolve_in(&path.module, &path.segs, path.global, 0)
    }

    fn resolve_in(
        &self,
        module: &[String],
        segs: &[String],
        global: bool,
        depth: usize,
    ) -> Option<Vec<String>> {
        let first = segs.first()?;
        if global || depth > MAX_DEPTH {
            return None;
        }
        let (mut base, rest) = match first.as_str() {
            "crate" => (Vec::new(), &segs[1..]),
            "self" => (module.to_vec(), &segs[1..]),
            "super" => {
                let mut base = module.to_vec();
                let mut k = 0;
                while segs.get(k).is_some_and(|s| s == "super") {
                    base.pop()?;
                    k += 1;
                }
                (base, &segs[k..])
            }
            _ => match self.lookup(module, first, depth) {
                Found::Local(path) => (path, &segs[1..]),
                Found::External | Found::Missing => return None,
            },
        };
        base.extend(rest.iter().cloned());
        Some(base)
    }

    /// What `name` means at the start of a path in `module`: an import, a child module, or a
    /// name from a glob import, in that order.
    fn lookup(&self, module: &[String], name: &str, depth: usize) -> Found {
        if depth > MAX_DEPTH {
            return Found::Missing;
        }
        if let Some(path) = self.bindings.get(module).and_then(|b| b.get(name)) {
            return match self.resolve_in(module, &path.segs, path.global, depth + 1) {
                Some(target) => Found::Local(target),
                None => Found::External,
            };
        }
        let mut child = module.to_vec();
        child.push(name.to_owned());
        if self.modules.contains(&child) {
            return Found::Local(child);
        }
        for glob in self.globs.get(module).into_iter().flatten() {
            if let Some(source) = self.resolve_in(module, &glob.segs, glob.global, depth + 1) {
                if source != module {
                    match self.lookup(&source, name, depth + 1) {
                        Found::Missing => {}
                        found => return found,
                    }
                }
            }
        }
        Found::Missing
    }
}

// ---- The graph. ----

/// Where an edge comes from: (file relative to the crate's source root, line).
type Site = (String, usize);

/// Edges between file modules (named by `::`-joined paths; the root is ""), each with the
/// places that make it.
type Edges = BTreeMap<(String, String), BTreeSet<Site>>;

/// A crate's module graph.
struct Graph {
    /// The file modules.
    nodes: BTreeSet<String>,
    edges: Edges,
    /// The sources, to quote lines.
    sources: BTreeMap<String, String>,
}

/// The module a file is, from its path relative to the source root.
fn module_of(rel: &str, root_file: &str) -> Vec<String> {
    if rel == root_file {
        return Vec::new();
    }
    let stem = rel.strip_suffix(".rs").unwrap_or(rel);
    let mut segs: Vec<String> = stem.split('/').map(str::to_owned).collect();
    if segs.len() > 1 && segs.last().is_some_and(|s| s == "mod") {
        segs.pop();
    }
    segs
}

/// `rel`'s directory joined with `file`, with `.` and `..` folded.
fn beside(rel: &str, file: &str) -> String {
    let mut parts: Vec<&str> = rel.split('/').collect();
    parts.pop();
    for part in file.split('/') {
        match part {
            "." | "" => {}
            ".." => {
                parts.pop();
            }
            _ => parts.push(part),
        }
    }
    parts.join("/")
}

impl Graph {
    /// The graph of the crate whose source files (relative path with `/`, text) are `files`.
    fn build(root_file: &str, files: &[(String, String)]) -> Graph {
        let tokens: BTreeMap<&str, Vec<Token>> = files
            .iter()
            .filter(|(rel, _)| rel.ends_with(".rs"))
            .map(|(rel, text)| (rel.as_str(), lex(text)))
            .collect();
        // Each file: (its node, the module it is read as, what it says).
        let mut read: BTreeMap<&str, (Vec<String>, Facts)> = BTreeMap::new();
        for (&rel, toks) in &tokens {
            let module = module_of(rel, root_file);
            read.insert(rel, (module.clone(), walk(toks, &module)));
        }
        // A file pulled in with `include!` is read again as part of the module including it.
        let mut included: BTreeMap<String, (Vec<String>, Vec<String>)> = BTreeMap::new();
        for (&rel, (node, facts)) in &read {
            for (file, module) in &facts.includes {
                let target = beside(rel, file);
                if target != rel && tokens.contains_key(target.as_str()) {
                    included
                        .entry(target)
                        .or_insert_with(|| (node.clone(), module.clone()));
                }
            }
        }
        for (target, (node, module)) in included {
            if let Some((&rel, toks)) = tokens.get_key_value(target.as_str()) {
                read.insert(rel, (node, walk(toks, &module)));
            }
        }

        let mut resolver = Resolver::default();
        let mut nodes = BTreeSet::new();
        for (&rel, (node, facts)) in &read {
            if module_of(rel, root_file) == *node {
                nodes.insert(node.join("::"));
                resolver.modules.insert(node.clone());
            }
            resolver
                .modules
                .extend(facts.inline_modules.iter().cloned());
            for (name, path) in &facts.bindings {
                resolver
                    .bindings
                    .entry(path.module.clone())
                    .or_default()
                    .entry(name.clone())
                    .or_insert_with(|| path.clone());
            }
            for glob in &facts.globs {
                resolver
                    .globs
                    .entry(glob.module.clone())
                    .or_default()
                    .push(glob.clone());
            }
        }

        let mut edges = Edges::new();
        for (&rel, (node, facts)) in &read {
            let from = node.join("::");
            for path in &facts.refs {
                let Some(target) = resolver.resolve(path) else {
                    continue;
                };
                let to = (1..=target.len())
                    .rev()
                    .map(|k| target[..k].join("::"))
                    .find(|prefix| nodes.contains(prefix));
                if let Some(to) = to.filter(|to| *to != from) {
                    edges
                        .entry((from.clone(), to))
                        .or_default()
                        .insert((rel.to_owned(), path.line));
                }
            }
        }
        Graph {
            nodes,
            edges,
            sources: files.iter().cloned().collect(),
        }
    }

    /// The modules each module imports.
    fn successors(&self) -> BTreeMap<&str, Vec<&str>> {
        let mut out: BTreeMap<&str, Vec<&str>> = self
            .nodes
            .iter()
            .map(|n| (n.as_str(), Vec::new()))
            .collect();
        for (from, to) in self.edges.keys() {
            out.entry(from.as_str()).or_default().push(to.as_str());
        }
        out
    }

    /// The strongly connected components with more than one module, each sorted, by Tarjan's
    /// algorithm.
    fn tangles(&self) -> Vec<Vec<String>> {
        struct Tarjan<'a> {
            next: &'a BTreeMap<&'a str, Vec<&'a str>>,
            index: HashMap<&'a str, usize>,
            low: HashMap<&'a str, usize>,
            stack: Vec<&'a str>,
            on_stack: HashSet<&'a str>,
            found: Vec<Vec<String>>,
        }
        impl<'a> Tarjan<'a> {
            fn visit(&mut self, v: &'a str) {
                let n = self.index.len();
                self.index.insert(v, n);
                self.low.insert(v, n);
                self.stack.push(v);
                self.on_stack.insert(v);
                let next = self.next;
                for &w in next.get(v).into_iter().flatten() {
                    if !self.index.contains_key(w) {
                        self.visit(w);
                        let low = self.low[v].min(self.low[w]);
                        self.low.insert(v, low);
                    } else if self.on_stack.contains(w) {
                        let low = self.low[v].min(self.index[w]);
                        self.low.insert(v, low);
                    }
                }
                if self.low[v] == self.index[v] {
                    let mut component = Vec::new();
                    while let Some(w) = self.stack.pop() {
                        self.on_stack.remove(w);
                        component.push(w.to_owned());
                        if w == v {
                            break;
                        }
                    }
                    if component.len() > 1 {
                        component.sort();
                        self.found.push(component);
                    }
                }
            }
        }
        let next = self.successors();
        let mut tarjan = Tarjan {
            next: &next,
            index: HashMap::new(),
            low: HashMap::new(),
            stack: Vec::new(),
            on_stack: HashSet::new(),
            found: Vec::new(),
        };
        for &v in next.keys() {
            if !tarjan.index.contains_key(v) {
                tarjan.visit(v);
            }
        }
        tarjan.found.sort();
        tarjan.found
    }

    /// Cycles covering every edge of every tangle: for each such edge, the shortest cycle
    /// through it. Each starts at its least module; sorted.
    fn cycles(&self) -> Vec<Vec<String>> {
        let next = self.successors();
        let mut cycles = BTreeSet::new();
        for tangle in self.tangles() {
            let inside: HashSet<&str> = tangle.iter().map(String::as_str).collect();
            for (from, to) in self.edges.keys() {
                if !inside.contains(from.as_str()) || !inside.contains(to.as_str()) {
                    continue;
                }
                // The shortest way from `to` back to `from`, inside the tangle.
                let mut came_from: HashMap<&str, &str> = HashMap::new();
                let mut queue = VecDeque::from([to.as_str()]);
                while let Some(v) = queue.pop_front() {
                    if v == from {
                        break;
                    }
                    for &w in next.get(v).into_iter().flatten() {
                        if inside.contains(w) && w != to && !came_from.contains_key(w) {
                            came_from.insert(w, v);
                            queue.push_back(w);
                        }
                    }
                }
                let mut cycle = vec![from.clone()];
                let mut v = from.as_str();
                while let Some(&w) = came_from.get(v) {
                    cycle.push(w.to_owned());
                    v = w;
                }
                if v != to {
                    continue;
                }
                // `cycle` is from, ..., to backwards: reverse it to follow the imports.
                cycle[1..].reverse();
                let start = (0..cycle.len()).min_by_key(|&k| &cycle[k]).unwrap_or(0);
                cycle.rotate_left(start);
                cycles.insert(cycle);
            }
        }
        cycles.into_iter().collect()
    }

    /// Each cycle as `crate NAME: a -> b -> a`, then each edge's lines (`dir` prefixes file
    /// names).
    fn describe_cycles(&self, crate_name: &str, dir: &str) -> Vec<String> {
        self.cycles()
            .into_iter()
            .map(|cycle| {
                let mut closed = cycle.clone();
                closed.push(cycle[0].clone());
                let mut text = format!("crate {crate_name}: {}", closed.join(" -> "));
                for pair in closed.windows(2) {
                    let key = (pair[0].clone(), pair[1].clone());
                    for (file, line) in self.edges.get(&key).into_iter().flatten() {
                        let quoted = self
                            .sources
                            .get(file)
                            .and_then(|s| s.lines().nth(line - 1))
                            .unwrap_or_default()
                            .trim();
                        text.push_str(&format!(
                            "\n    {} -> {} at {dir}/{file}:{line}: {quoted}",
                            pair[0], pair[1]
                        ));
                    }
                }
                text
            })
            .collect()
    }
}
