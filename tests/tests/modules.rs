//! No crate of the workspace has an import cycle between its modules, and it is kept that way.
//!
//! A module is a room of the code: it should be possible to understand it knowing only the rooms
//! it imports. When two modules import each other (directly, or round a longer loop), neither can
//! be read, tested or changed apart from the other: they are one room with a wall drawn through
//! it. So this test reads every crate's sources and fails on any cycle, naming the lines that
//! close it.
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

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::path::Path;

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
const ROOTS: [Root; 5] = [
    Root {
        name: "core",
        dir: "crates/core/src",
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
];

/// Said once under the cycles found.
const HOW_TO_BREAK: &str = "To break a cycle, move what both sides share (usually one type, \
     such as an error) into a lower module that imports neither of them, so that every import \
     points one way.";

#[test]
fn no_crate_has_an_import_cycle_between_its_modules() {
    let workspace = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    check_every_member_is_listed(workspace);
    let mut found = Vec::new();
    for root in &ROOTS {
        let dir = workspace.join(root.dir);
        if !dir.is_dir() {
            assert!(
                !root.required,
                "{} (the sources of crate {}) is missing: update ROOTS in tests/tests/modules.rs \
                 so that the check goes on checking that crate",
                dir.display(),
                root.name
            );
            continue;
        }
        let files = read_sources(&dir, &dir);
        assert!(
            files.iter().any(|(rel, _)| rel == root.root_file),
            "{} has no {}: update ROOTS in tests/tests/modules.rs",
            dir.display(),
            root.root_file
        );
        let graph = Graph::build(root.root_file, &files);
        found.extend(graph.describe_cycles(root.name, root.dir));
    }
    assert!(
        found.is_empty(),
        "{} module import cycle(s):\n\n{}\n\n{HOW_TO_BREAK}",
        found.len(),
        found.join("\n\n")
    );
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
        panic!("the workspace's Cargo.toml has no `members`: update tests/tests/modules.rs");
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
        "found no workspace members in Cargo.toml: update tests/tests/modules.rs"
    );
    for member in members {
        let src = format!("{member}/src");
        assert!(
            ROOTS.iter().any(|root| root.dir == src),
            "workspace member {member} is not checked for import cycles: add {src} to ROOTS in \
             tests/tests/modules.rs"
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

// ---- Lexing: just enough of Rust's tokens to skip comments and literals and see paths. ----

/// A token.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// An identifier or keyword (`r#x` is `x`; `$crate` is `crate`).
    Ident(String),
    /// `::`.
    PathSep,
    /// A string literal's text (raw, byte and C strings too), kept for `include!`.
    Str(String),
    /// Any other character; `'` of a lifetime or label.
    Punct(char),
}

/// A token and the line it starts on (from 1).
#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    line: usize,
}

fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

fn is_ident_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// The tokens of `src`, without comments, char literals and numbers.
fn lex(src: &str) -> Vec<Token> {
    let s: Vec<char> = src.chars().collect();
    let at = |i: usize| s.get(i).copied().unwrap_or('\0');
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && at(i + 1) == '/' {
            while i < s.len() && s[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < s.len() {
                if s[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if s[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    line += usize::from(s[i] == '\n');
                    i += 1;
                }
            }
        } else if c == '"' {
            let (text, end, lines) = string_at(&s, i + 1);
            out.push(Token {
                tok: Tok::Str(text),
                line,
            });
            line += lines;
            i = end;
        } else if c == '\'' {
            if at(i + 1) == '\\' {
                // An escaped char: '\n', '\'', '\u{7b}'.
                i += 3;
                while i < s.len() && s[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                // A lifetime or a label.
                out.push(Token {
                    tok: Tok::Punct('\''),
                    line,
                });
                i += 1;
            }
        } else if c == ':' && at(i + 1) == ':' {
            out.push(Token {
                tok: Tok::PathSep,
                line,
            });
            i += 2;
        } else if c == '$' && word_at(&s, i + 1) == "crate" {
            out.push(Token {
                tok: Tok::Ident("crate".to_owned()),
                line,
            });
            i += 6;
        } else if is_ident_start(c) {
            let word = word_at(&s, i);
            i += word.chars().count();
            let hashes = s[i.min(s.len())..]
                .iter()
                .take_while(|&&h| h == '#')
                .count();
            let raw_prefix = matches!(word.as_str(), "r" | "br" | "cr");
            if raw_prefix && at(i + hashes) == '"' {
                let (text, end, lines) = raw_string_at(&s, i + hashes + 1, hashes);
                out.push(Token {
                    tok: Tok::Str(text),
                    line,
                });
                line += lines;
                i = end;
            } else if matches!(word.as_str(), "b" | "c") && at(i) == '"' {
                let (text, end, lines) = string_at(&s, i + 1);
                out.push(Token {
                    tok: Tok::Str(text),
                    line,
                });
                line += lines;
                i = end;
            } else if word == "r" && hashes == 1 && is_ident_start(at(i + 1)) {
                let raw = word_at(&s, i + 1);
                i += 1 + raw.chars().count();
                out.push(Token {
                    tok: Tok::Ident(raw),
                    line,
                });
            } else {
                out.push(Token {
                    tok: Tok::Ident(word),
                    line,
                });
            }
        } else if c.is_ascii_digit() {
            while i < s.len() && is_ident_char(s[i]) {
                i += 1;
            }
        } else {
            out.push(Token {
                tok: Tok::Punct(c),
                line,
            });
            i += 1;
        }
    }
    out
}

/// The identifier starting at `i` (empty if none).
fn word_at(s: &[char], i: usize) -> String {
    s.iter()
        .skip(i)
        .take_while(|&&c| is_ident_char(c))
        .collect()
}

/// A string literal's text from just after its opening quote: (text, index after the closing
/// quote, newlines in it).
fn string_at(s: &[char], mut i: usize) -> (String, usize, usize) {
    let mut text = String::new();
    let mut lines = 0;
    while i < s.len() && s[i] != '"' {
        if s[i] == '\\' {
            text.push(s[i]);
            i += 1;
        }
        if let Some(&c) = s.get(i) {
            lines += usize::from(c == '\n');
            text.push(c);
        }
        i += 1;
    }
    (text, i + 1, lines)
}

/// A raw string's text from just after its opening quote, closed by `"` and `hashes` `#`s.
fn raw_string_at(s: &[char], mut i: usize, hashes: usize) -> (String, usize, usize) {
    let mut text = String::new();
    let mut lines = 0;
    while i < s.len() {
        if s[i] == '"' && (1..=hashes).all(|k| s.get(i + k) == Some(&'#')) {
            return (text, i + 1 + hashes, lines);
        }
        lines += usize::from(s[i] == '\n');
        text.push(s[i]);
        i += 1;
    }
    (text, i, lines)
}

// ---- What a file says: its paths, imports and inline modules. ----

/// A path as written, and where.
#[derive(Debug, Clone)]
struct PathRef {
    /// The module it is written in (inline modules included), from the crate root.
    module: Vec<String>,
    /// Its segments (`self`, `super`, `crate` kept; a `use` tree's `self` leaf dropped).
    segs: Vec<String>,
    /// Whether it starts with `::` (another crate).
    global: bool,
    /// Its line.
    line: usize,
}

/// Everything one file says that matters here.
#[derive(Debug, Default)]
struct Facts {
    /// Every path it writes, in `use` declarations or in code.
    refs: Vec<PathRef>,
    /// The names its `use` declarations bind, each to its path.
    bindings: Vec<(String, PathRef)>,
    /// Its glob imports (`use x::*`), each to the path before `*`.
    globs: Vec<PathRef>,
    /// Its inline modules, from the crate root.
    inline_modules: Vec<Vec<String>>,
    /// Its `include!("file")`s: the file as written, and the module it is included into.
    includes: Vec<(String, Vec<String>)>,
}

/// A `use` tree's leaf.
struct UseLeaf {
    segs: Vec<String>,
    /// The name it binds (none for `as _` and for globs).
    binding: Option<String>,
    glob: bool,
    line: usize,
}

/// What the file with `tokens` says, read as module `base`.
fn walk(tokens: &[Token], base: &[String]) -> Facts {
    let tok = |i: usize| tokens.get(i).map(|t| &t.tok);
    let ident = |i: usize| match tok(i) {
        Some(Tok::Ident(w)) => Some(w.as_str()),
        _ => None,
    };
    let mut facts = Facts::default();
    let mut module = base.to_vec();
    // One entry per open `{`: how deep the module path was outside it.
    let mut braces: Vec<usize> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let line = tokens[i].line;
        match &tokens[i].tok {
            Tok::Ident(w) if w == "mod" && tok(i + 2) == Some(&Tok::Punct('{')) => {
                if let Some(name) = ident(i + 1) {
                    braces.push(module.len());
                    module.push(name.to_owned());
                    facts.inline_modules.push(module.clone());
                    i += 3;
                    continue;
                }
            }
            // `use<'a>` is precise capturing, not an import.
            Tok::Ident(w) if w == "use" && tok(i + 1) != Some(&Tok::Punct('<')) => {
                let end = (i..tokens.len())
                    .find(|&k| tok(k) == Some(&Tok::Punct(';')))
                    .unwrap_or(tokens.len());
                let mut tree = &tokens[i + 1..end];
                let global = tree.first().is_some_and(|t| t.tok == Tok::PathSep);
                if global {
                    tree = &tree[1..];
                }
                let mut leaves = Vec::new();
                parse_use_tree(tree, &mut 0, &mut Vec::new(), &mut leaves);
                for leaf in leaves {
                    let path = PathRef {
                        module: module.clone(),
                        segs: leaf.segs,
                        global,
                        line: leaf.line,
                    };
                    if leaf.glob {
                        facts.globs.push(path.clone());
                    } else if let Some(name) = leaf.binding {
                        facts.bindings.push((name, path.clone()));
                    }
                    facts.refs.push(path);
                }
                i = end + 1;
                continue;
            }
            Tok::Ident(w)
                if w == "include"
                    && tok(i + 1) == Some(&Tok::Punct('!'))
                    && tok(i + 2) == Some(&Tok::Punct('('))
                    && tok(i + 4) == Some(&Tok::Punct(')')) =>
            {
                if let Some(Tok::Str(file)) = tok(i + 3) {
                    facts.includes.push((file.clone(), module.clone()));
                }
            }
            Tok::Ident(first) if tok(i + 1) == Some(&Tok::PathSep) => {
                let continues = i > 0 && tok(i - 1) == Some(&Tok::PathSep);
                let mut segs = vec![first.clone()];
                let mut j = i;
                while tok(j + 1) == Some(&Tok::PathSep) {
                    match ident(j + 2) {
                        Some(w) => segs.push(w.to_owned()),
                        None => break,
                    }
                    j += 2;
                }
                if !continues {
                    facts.refs.push(PathRef {
                        module: module.clone(),
                        segs,
                        global: false,
                        line,
                    });
                }
                i = j + 1;
                continue;
            }
            Tok::Punct('{') => braces.push(module.len()),
            Tok::Punct('}') => module.truncate(braces.pop().unwrap_or(base.len())),
            _ => {}
        }
        i += 1;
    }
    facts
}

/// Parses the `use` tree at `t[*i..]` under `prefix` into `out`.
fn parse_use_tree(t: &[Token], i: &mut usize, prefix: &mut Vec<String>, out: &mut Vec<UseLeaf>) {
    let Some(token) = t.get(*i) else {
        return;
    };
    match &token.tok {
        Tok::Punct('{') => {
            *i += 1;
            while let Some(token) = t.get(*i) {
                match token.tok {
                    Tok::Punct('}') => {
                        *i += 1;
                        return;
                    }
                    Tok::Punct(',') => *i += 1,
                    _ => {
                        let before = *i;
                        parse_use_tree(t, i, &mut prefix.clone(), out);
                        if *i == before {
                            *i += 1;
                        }
                    }
                }
            }
        }
        Tok::Punct('*') => {
            *i += 1;
            out.push(UseLeaf {
                segs: prefix.clone(),
                binding: None,
                glob: true,
                line: token.line,
            });
        }
        Tok::Ident(name) => {
            *i += 1;
            prefix.push(name.clone());
            if t.get(*i).is_some_and(|t| t.tok == Tok::PathSep) {
                *i += 1;
                parse_use_tree(t, i, prefix, out);
                return;
            }
            let alias = match (t.get(*i), t.get(*i + 1)) {
                (Some(a), Some(b)) if a.tok == Tok::Ident("as".to_owned()) => match &b.tok {
                    Tok::Ident(alias) => Some(alias.clone()),
                    _ => None,
                },
                _ => None,
            };
            if alias.is_some() {
                *i += 2;
            }
            let mut segs = prefix.clone();
            if segs.len() > 1 && segs.last().is_some_and(|s| s == "self") {
                segs.pop();
            }
            let binding = match alias {
                Some(alias) => Some(alias).filter(|a| a != "_"),
                None => segs
                    .last()
                    .filter(|s| !matches!(s.as_str(), "crate" | "self" | "super"))
                    .cloned(),
            };
            out.push(UseLeaf {
                segs,
                binding,
                glob: false,
                line: token.line,
            });
        }
        _ => {}
    }
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

// ---- The checker's own tests, on trees in memory. ----

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
