//! `#[derive(Event)]`, `#[subscriptions]` and `#[subscribe]`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::ast::{EventInput, Subscriptions};

pub fn derive_event(input: &EventInput) -> TokenStream {
    let ident = &input.ident;
    let name = &input.name;
    quote! {
        impl ::coord::Event for #ident {
            const NAME: &'static str = #name;
        }
    }
}

pub fn subscriptions(input: &Subscriptions) -> TokenStream {
    let item = &input.item;
    let self_ty = &input.self_ty;
    // The same rule `#[coordinator]` names a coordinator by.
    let coordinator_name = crate::case::snake_case(&input.type_name);
    let registrations = input.methods.iter().map(|method| {
        let method_ident = &method.ident;
        let event = &method.event;
        let name = format!("{}::{}", input.type_name, method_ident);
        // Spanned so that a type that is not a coordinator, an argument that
        // is not an event, or a wrong return type is reported at its token.
        let call_ident = syn::Ident::new(&method_ident.to_string(), method.output_span);
        let result = quote_spanned! {method.output_span=>
            ::coord::HandlerResult::into_result(this.#call_ident(&envelope.event).await)
        };
        let binding = quote_spanned! {self_ty.span()=>
            ::coord::__private::wire_method::<#self_ty, #event>(request, #name, |this, envelope| {
                ::std::boxed::Box::pin(async move { #result })
            })
        };
        quote! {
            const _: () = {
                fn __coord_binding(
                    request: ::coord::__private::BindingRequest<'_>,
                ) -> ::core::result::Result<&'static str, ::coord::SubscribeError> {
                    #binding
                }
                ::coord::__private::inventory::submit! {
                    ::coord::SubscriptionSpec {
                        name: #name,
                        coordinator: #coordinator_name,
                        location: ::coord::Location {
                            module_path: ::core::module_path!(),
                            file: ::core::file!(),
                            line: ::core::line!(),
                        },
                        binding: __coord_binding,
                    }
                }
            };
        }
    });
    quote! {
        #item
        #(#registrations)*
    }
}
