//! `#[coordinator(...)]`: its identity and graph node, what it may reach
//! with `ctx.dep::<T>()`, its registration, and its check.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote, quote_spanned};
use syn::Path;
use syn::ext::IdentExt;

use crate::ast::CoordinatorAttr;
use crate::attr::{first_and_last_span, last_ident};
use crate::case::snake_case;
use crate::expand::{at, location, source_position, spanned_fail};

pub fn expand(attr: &CoordinatorAttr, item: &syn::ItemStruct) -> TokenStream {
    let krate = &attr.krate;
    let ident = &item.ident;
    let deps = dependencies(attr, item);
    // One `DependencyOf` impl per entry. An entry that may repeat an earlier
    // one under another spelling (`Store`, `crate::m::Store`: the same last
    // name) gets a const argument that is distinct when it does repeat, so
    // the impls do not conflict and the check below reports it in coord's
    // words. Each such argument is one more item for the compiler to
    // evaluate, so entries with a name of their own get a plain impl.
    let declared = deps.iter().enumerate().map(|(i, dep)| {
        let may_repeat = deps[..i]
            .iter()
            .any(|earlier| last_ident(earlier) == last_ident(dep));
        let repeat = if may_repeat {
            quote!(, { #krate::__private::repeat_position(<#ident as #krate::RegisteredCoordinator>::DEP_IDS, #i) })
        } else {
            TokenStream::new()
        };
        quote_spanned! {at(dep_span(dep))=>
            #[diagnostic::do_not_recommend]
            impl #krate::DependencyOf<#ident #repeat> for #dep {}
        }
    });
    let check = check(attr, item, &deps);
    let node = node(attr, item, &deps);
    let published = crate::expand::publishes::published_by(krate, ident, &attr.publishes);
    quote! {
        #item

        #[allow(unused_qualifications)]
        const _: () = {
            #node

            #(#declared)*

            #published

            #krate::__private::inventory::submit! {
                #krate::CoordinatorRegistration::of::<#ident>()
            }
        };

        #check
    }
}

/// `depends_on` with `Self` spelled as the struct, which it means there.
fn dependencies(attr: &CoordinatorAttr, item: &syn::ItemStruct) -> Vec<Path> {
    attr.depends_on
        .iter()
        .map(|dep| {
            if dep.is_ident("Self") {
                let mut ident = item.ident.clone();
                ident.set_span(dep.segments[0].ident.span());
                Path::from(ident)
            } else {
                dep.clone()
            }
        })
        .collect()
}

fn dep_span(dep: &Path) -> proc_macro2::Span {
    first_and_last_span(&dep.to_token_stream()).0
}

/// The coordinator's identity and compile-time node; also emitted alone
/// after an attribute error, so coordinators depending on this one do not
/// report it as missing.
pub fn node(attr: &CoordinatorAttr, item: &syn::ItemStruct, deps: &[Path]) -> TokenStream {
    let krate = &attr.krate;
    let ident = &item.ident;
    let type_name = ident.unraw().to_string();
    let name = match &attr.name {
        Some(name) => name.value(),
        None => snake_case(&type_name),
    };
    let (_, line, column) = source_position(ident.span());
    let order = (u64::from(line) << 20) | u64::from(column.min(0xF_FFFF));
    let here = location(krate, ident.span());
    let dep_ids = deps.iter().map(|dep| {
        quote_spanned! {at(dep_span(dep))=> <#dep as #krate::RegisteredCoordinator>::ID }
    });
    let publishes = crate::expand::publishes::published_list(krate, ident, &attr.publishes);
    let dep_nodes = deps.iter().map(|dep| {
        quote_spanned! {at(dep_span(dep))=> <#dep as #krate::RegisteredCoordinator>::NODE }
    });
    quote_spanned! {at(ident.span())=>
        #[diagnostic::do_not_recommend]
        impl #krate::RegisteredCoordinator for #ident {
            type Itself = Self;
            const NAME: &'static str = #name;
            const TYPE_NAME: &'static str = #type_name;
            const LOCATION: #krate::Location = #here;
            const ID: u64 = #krate::__private::node_id(
                ::core::concat!(::core::module_path!(), "::", #type_name),
            );
            const DEP_IDS: &'static [u64] = &[#(#dep_ids),*];
            const PUBLISHES: &'static [#krate::EventRef] = #publishes;
            const NODE: #krate::__private::CoordNodeRef = {
                static NODE: #krate::__private::CoordNode = #krate::__private::CoordNode {
                    type_name: #type_name,
                    id: <#ident as #krate::RegisteredCoordinator>::ID,
                    order: #order,
                    location: <#ident as #krate::RegisteredCoordinator>::LOCATION,
                    deps: &[#(#dep_nodes),*],
                };
                #krate::__private::CoordNodeRef::new(&NODE)
            };
        }
    }
}

/// The coordinator's compile-time check: a self-dependency or repeat at the
/// dependency's token, a cycle it is the first member of at its name.
fn check(attr: &CoordinatorAttr, item: &syn::ItemStruct, deps: &[Path]) -> TokenStream {
    if deps.is_empty() {
        return TokenStream::new();
    }
    let krate = &attr.krate;
    let ident = &item.ident;
    let message = quote!(text);
    let arms = deps.iter().enumerate().map(|(i, dep)| {
        let (first, last) = first_and_last_span(&dep.to_token_stream());
        let panic = spanned_fail(krate, first, last, &message);
        quote! { ::core::option::Option::Some((_, #i)) => #panic, }
    });
    let at_name = spanned_fail(krate, ident.span(), ident.span(), &message);
    quote! {
        #[allow(unused_qualifications)]
        const _: () = {
            let node = <#ident as #krate::RegisteredCoordinator>::NODE;
            let finding = #krate::__private::check_coordinator(node);
            if finding.is_problem() {
                let explained = #krate::__private::explain_coordinator(node, finding);
                let text = explained.as_str();
                match finding.dependency() {
                    #(#arms)*
                    _ => #at_name,
                }
            }
        };
    }
}
