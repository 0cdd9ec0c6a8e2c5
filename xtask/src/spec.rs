//! Derives from the contract the variant that progenitor is given.
//!
//! The contract documents JSON error bodies, but the real service also answers plain text (429),
//! HTML (gateways) and empty bodies. progenitor decodes a documented JSON error eagerly and, when
//! that fails, drops the status and headers, so a 429's `Retry-After` would be lost. The variant
//! given to progenitor therefore keeps every error response but removes its JSON media type: the
//! generated client hands over status, headers and raw body, and the facade decodes the `Error`
//! schema itself (typify still generates it, like every component schema).

use openapiv3::{OpenAPI, ReferenceOr, Response, StatusCode};

/// The contract as progenitor must see it: error responses carry no JSON media type.
pub fn for_progenitor(spec: &OpenAPI) -> OpenAPI {
    let mut spec = spec.clone();
    let mut error_refs = Vec::new();
    for (_, path_item) in spec.paths.paths.iter_mut() {
        let ReferenceOr::Item(path_item) = path_item else {
            continue;
        };
        let operations = [
            &mut path_item.get,
            &mut path_item.put,
            &mut path_item.post,
            &mut path_item.delete,
            &mut path_item.options,
            &mut path_item.head,
            &mut path_item.patch,
            &mut path_item.trace,
        ];
        for operation in operations.into_iter().flatten() {
            for (status, response) in operation.responses.responses.iter_mut() {
                if !is_error(status) {
                    continue;
                }
                match response {
                    ReferenceOr::Item(response) => strip_json(response),
                    ReferenceOr::Reference { reference } => error_refs.push(reference.clone()),
                }
            }
        }
    }
    if let Some(components) = spec.components.as_mut() {
        for reference in error_refs {
            let name = reference.trim_start_matches("#/components/responses/");
            if let Some(ReferenceOr::Item(response)) = components.responses.get_mut(name) {
                strip_json(response);
            }
        }
    }
    spec
}

fn is_error(status: &StatusCode) -> bool {
    match status {
        StatusCode::Code(code) => *code >= 400,
        StatusCode::Range(range) => *range >= 4,
    }
}

fn strip_json(response: &mut Response) {
    response.content.retain(|media_type, _| {
        !(media_type == "application/json" || media_type.starts_with("application/json;"))
    });
}
