//! Parses attribute arguments: positional paths, then `key = value` pairs.

use proc_macro2::TokenStream;
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, LitStr, Path, Token};

use crate::case::closest;
use crate::ctxt::Ctxt;

/// One argument as written.
pub enum Arg {
    /// `DaemonType::AutoSync`
    Positional(Expr),
    /// `runner = run_auto_sync`
    Keyed { key: Ident, value: Expr },
}

impl Parse for Arg {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.peek(Ident) && input.peek2(Token![=]) && !input.peek2(Token![==]) {
            let key: Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            let value: Expr = input.parse()?;
            Ok(Arg::Keyed { key, value })
        } else {
            Ok(Arg::Positional(input.parse()?))
        }
    }
}

/// Splits the attribute's tokens into arguments.
pub fn parse_args(tokens: TokenStream) -> syn::Result<Vec<Arg>> {
    let args = Punctuated::<Arg, Token![,]>::parse_terminated.parse2(tokens)?;
    Ok(args.into_iter().collect())
}

/// Tracks which keys were given, reporting unknown and duplicate ones.
pub struct Keys<'a> {
    attribute: &'static str,
    known: &'a [&'static str],
    seen: Vec<Ident>,
}

impl<'a> Keys<'a> {
    pub fn new(attribute: &'static str, known: &'a [&'static str]) -> Self {
        Self {
            attribute,
            known,
            seen: Vec::new(),
        }
    }

    /// Whether `key` should be read: known and not given before.
    pub fn accept(&mut self, cx: &mut Ctxt, key: &Ident) -> bool {
        let name = key.to_string();
        if !self.known.contains(&name.as_str()) {
            let hint = match closest(&name, self.known) {
                Some(near) => format!("did you mean `{near}`? "),
                None => String::new(),
            };
            cx.error_spanned_by(
                key,
                format!(
                    "unknown key `{name}` in `#[{}(...)]`; {hint}expected one of: {}",
                    self.attribute,
                    self.known.join(", ")
                ),
            );
            return false;
        }
        if self.seen.iter().any(|k| *k == name) {
            cx.error_spanned_by(
                key,
                format!("duplicate key `{name}`: it is already given earlier in this attribute; keep one"),
            );
            return false;
        }
        self.seen.push(key.clone());
        true
    }
}

/// The value as a path, e.g. `run_auto_sync`.
pub fn path(cx: &mut Ctxt, key: &Ident, value: &Expr, example: &str) -> Option<Path> {
    match value {
        Expr::Path(p) if p.qself.is_none() && p.attrs.is_empty() => Some(p.path.clone()),
        _ => {
            cx.error_spanned_by(
                value,
                format!("`{key}` expects a path, e.g. `{key} = {example}`"),
            );
            None
        }
    }
}

/// The value as a bracketed list of paths, e.g. `[A, B]`.
pub fn path_list(cx: &mut Ctxt, key: &Ident, value: &Expr, example: &str) -> Option<Vec<Path>> {
    let Expr::Array(array) = value else {
        cx.error_spanned_by(
            value,
            format!("`{key}` expects a list in brackets, e.g. `{key} = [{example}]`"),
        );
        return None;
    };
    let mut paths = Vec::new();
    let mut ok = true;
    for elem in &array.elems {
        match elem {
            Expr::Path(p) if p.qself.is_none() && p.attrs.is_empty() => paths.push(p.path.clone()),
            _ => {
                cx.error_spanned_by(
                    elem,
                    format!("each entry of `{key}` must be a path, e.g. `{example}`"),
                );
                ok = false;
            }
        }
    }
    ok.then_some(paths)
}

/// The value as a string literal.
pub fn string(cx: &mut Ctxt, key: &Ident, value: &Expr) -> Option<LitStr> {
    match value {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) => Some(s.clone()),
        _ => {
            cx.error_spanned_by(
                value,
                format!("`{key}` expects a string literal, e.g. `{key} = \"sync\"`"),
            );
            None
        }
    }
}

/// The value as one of a fixed set of bare words.
pub fn choice(cx: &mut Ctxt, key: &Ident, value: &Expr, choices: &[&str]) -> Option<Ident> {
    if let Expr::Path(p) = value
        && let Some(ident) = p.path.get_ident()
        && choices.contains(&ident.to_string().as_str())
    {
        return Some(ident.clone());
    }
    cx.error_spanned_by(
        value,
        format!("`{key}` expects one of: {}", choices.join(", ")),
    );
    None
}

/// The path's final segment, e.g. `AutoSync` of `DaemonType::AutoSync`.
pub fn last_ident(path: &Path) -> &Ident {
    // syn never produces a path without segments.
    &path.segments[path.segments.len() - 1].ident
}
