//! `#[coordinator(...)]`

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::ast::CoordinatorAttr;
use crate::case::snake_case;

pub fn expand(attr: &CoordinatorAttr, item: &syn::ItemStruct) -> TokenStream {
    let ident = &item.ident;
    let ident_str = ident.to_string();
    let deps = &attr.depends_on;
    let dep_nodes = deps
        .iter()
        .map(|dep| quote_spanned! {dep.span()=> <#dep as ::coord::__private::CoordinatorNode>::NODE })
        .collect();
    let node = node(item, dep_nodes);
    let dep_names = deps.iter().map(|dep| {
        quote_spanned! {dep.span()=> <#dep as ::coord::__private::CoordinatorNode>::NAME }
    });
    // Spanned at the struct's name: that is where the user looks. The cycle
    // check runs inside the registration's initializer, so a coordinator adds
    // one evaluated item for both.
    let registration = quote_spanned! {ident.span()=>
        ::coord::__private::inventory::submit! {
            {
                let verdict = ::coord::__private::check_coordinator_cycles(
                    <#ident as ::coord::__private::CoordinatorNode>::NODE,
                );
                if let ::core::option::Option::Some(error) = verdict.error() {
                    ::core::panic!("{}", error);
                }
                ::coord::CoordinatorSpec::new::<#ident>(
                    #ident_str,
                    &[#(#dep_names),*],
                    ::coord::Location {
                        module_path: ::core::module_path!(),
                        file: ::core::file!(),
                        line: ::core::line!(),
                    },
                )
            }
        }
    };

    quote! {
        #item

        #(impl ::coord::DependsOn<#deps> for #ident {})*

        #registration

        #node
    }
}

/// The compile-time graph node; also emitted alone after an attribute error so
/// that coordinators depending on this one do not report it as missing.
pub fn node(item: &syn::ItemStruct, dep_nodes: Vec<TokenStream>) -> TokenStream {
    let ident = &item.ident;
    let ident_str = ident.to_string();
    let name = snake_case(&ident_str);
    quote! {
        impl ::coord::__private::CoordinatorNode for #ident {
            const NAME: &'static str = #name;
            const NODE: ::coord::__private::NodeRef = {
                static __COORD_NODE: ::coord::__private::CoordNode = ::coord::__private::CoordNode {
                    name: #ident_str,
                    id: ::coord::__private::node_id(::core::concat!(::core::module_path!(), "::", #ident_str)),
                    deps: &[#(#dep_nodes),*],
                };
                ::coord::__private::NodeRef(&raw const __COORD_NODE)
            };
        }
    }
}
