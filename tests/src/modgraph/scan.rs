//! Reading a Rust source file without a parser: its tokens (comments, char literals and
//! numbers skipped), and what it says that matters for the module graph — the paths it writes,
//! the names its `use` declarations bind, its glob imports, its inline modules and its
//! `include!`s.
//!
//! This module imports nothing of its parent: the graph is built on top of it.

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
pub(super) struct Token {
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
pub(super) fn lex(src: &str) -> Vec<Token> {
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
pub(super) struct PathRef {
    /// The module it is written in (inline modules included), from the crate root.
    pub(super) module: Vec<String>,
    /// Its segments (`self`, `super`, `crate` kept; a `use` tree's `self` leaf dropped).
    pub(super) segs: Vec<String>,
    /// Whether it starts with `::` (another crate).
    pub(super) global: bool,
    /// Its line.
    pub(super) line: usize,
}

/// Everything one file says that matters here.
#[derive(Debug, Default)]
pub(super) struct Facts {
    /// Every path it writes, in `use` declarations or in code.
    pub(super) refs: Vec<PathRef>,
    /// The names its `use` declarations bind, each to its path.
    pub(super) bindings: Vec<(String, PathRef)>,
    /// Its glob imports (`use x::*`), each to the path before `*`.
    pub(super) globs: Vec<PathRef>,
    /// Its inline modules, from the crate root.
    pub(super) inline_modules: Vec<Vec<String>>,
    /// Its `include!("file")`s: the file as written, and the module it is included into.
    pub(super) includes: Vec<(String, Vec<String>)>,
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
pub(super) fn walk(tokens: &[Token], base: &[String]) -> Facts {
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
