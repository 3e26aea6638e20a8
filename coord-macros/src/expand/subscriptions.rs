//! `#[subscriptions]` and `#[subscribe]`: one registration per handler.
//!
//! The coordinator and the event are named by type in the generated code, so
//! an `impl` through an alias wires the same handlers under the same names.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::ast::Subscriptions;
use crate::expand::{at, location};

pub fn expand(input: &Subscriptions) -> TokenStream {
    let krate = &input.krate;
    let item = &input.item;
    let self_ty = &input.self_ty;
    let registrations = input.methods.iter().map(|method| {
        let method_ident = &method.ident;
        let event = &method.event;
        let method_name = method_ident.to_string();
        let here = location(krate, method_ident.span());
        // Spanned so that a type that is not a coordinator, an argument that
        // is not an event, or a wrong return type is reported at its token.
        let call_ident = syn::Ident::new(&method_name, at(method.output_span));
        let (context_param, take_context, result) = if let Some(context) = method.context {
            // Spanned at the parameter: a context of another type is reported there.
            let context = quote_spanned! {at(context)=>
                #krate::contract::handler_context::<#self_ty, _>(&ctx)
            };
            (
                quote!(ctx),
                quote!(let ctx = ::core::clone::Clone::clone(ctx);),
                quote_spanned! {at(method.output_span)=>
                    #krate::HandlerResult::into_result(this.#call_ident(&envelope.event, #context).await)
                },
            )
        } else {
            (
                quote!(_),
                TokenStream::new(),
                quote_spanned! {at(method.output_span)=>
                    #krate::HandlerResult::into_result(this.#call_ident(&envelope.event).await)
                },
            )
        };
        let scope = if method.once {
            quote!(#krate::__private::Scope::Once)
        } else {
            quote!(#krate::__private::Scope::Node)
        };
        let binding = quote_spanned! {at(self_ty.span())=>
            #krate::contract::subscribe_method::<#self_ty, #event>(request, #method_name, #scope, |this, envelope, #context_param| {
                #take_context
                ::std::boxed::Box::pin(async move { #result })
            })
        };
        quote! {
            #[allow(unused_qualifications)]
            const _: () = {
                fn binding(
                    request: #krate::__private::BindingRequest<'_>,
                ) -> ::core::result::Result<#krate::__private::BindingInfo, #krate::SubscribeError> {
                    #binding
                }
                #krate::__private::inventory::submit! {
                    #krate::SubscriptionSpec::new(#method_name, #here, binding)
                }
            };
        }
    });
    quote! {
        #item
        #(#registrations)*
    }
}
